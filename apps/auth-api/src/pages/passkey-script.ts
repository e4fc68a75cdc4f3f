/**
 * `/assets/passkey.js`, the one script of the pages (CSP `script-src 'self'`, nothing inline): it runs
 * the WebAuthn ceremony of a `<form data-passkey>` — `sign-in` (passwordless) or `second-step` (after
 * the password, with the form's `mfa_token`) — with options from the JSON endpoints, puts the
 * serialised credential in the form's hidden `credential` field and submits the form, so the
 * sign-in goes on exactly like a password sign-in (same handler, same redirects). Without WebAuthn
 * the buttons stay hidden. Plain ES2017, no build step, no dependency.
 */
export const PASSKEY_SCRIPT = `'use strict';
(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }
  function toBuffer(base64url) {
    var base64 = base64url.replace(/-/g, '+').replace(/_/g, '/');
    var binary = atob(base64 + '==='.slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }
  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = '';
    for (var i = 0; i < bytes.length; i += 1) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  }
  function requestOptions(json) {
    var options = Object.assign({}, json, { challenge: toBuffer(json.challenge) });
    options.allowCredentials = (json.allowCredentials || []).map(function (credential) {
      return Object.assign({}, credential, { id: toBuffer(credential.id) });
    });
    return options;
  }
  function serialise(credential) {
    var response = credential.response;
    var json = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toBase64url(response.clientDataJSON),
        authenticatorData: toBase64url(response.authenticatorData),
        signature: toBase64url(response.signature)
      },
      clientExtensionResults: credential.getClientExtensionResults()
    };
    if (response.userHandle) json.response.userHandle = toBase64url(response.userHandle);
    if (credential.authenticatorAttachment) json.authenticatorAttachment = credential.authenticatorAttachment;
    return json;
  }
  function optionsRequest(form) {
    if (form.dataset.passkey === 'second-step') {
      return { url: '/auth/login/mfa/passkey-options', body: { mfaToken: form.elements.mfa_token.value } };
    }
    return { url: '/auth/passkey/options', body: {} };
  }
  async function run(form, status) {
    status.hidden = true;
    var request = optionsRequest(form);
    var answer = await fetch(request.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request.body),
      credentials: 'same-origin'
    });
    if (!answer.ok) throw new Error('options');
    var credential = await navigator.credentials.get({ publicKey: requestOptions(await answer.json()) });
    form.elements.credential.value = JSON.stringify(serialise(credential));
    form.submit();
  }
  document.querySelectorAll('form[data-passkey]').forEach(function (form) {
    var button = form.querySelector('button');
    var status = document.getElementById(form.dataset.status);
    button.hidden = false;
    button.addEventListener('click', function () {
      button.disabled = true;
      run(form, status).catch(function () {
        button.disabled = false;
        status.textContent = 'No passkey was used. Try again, or use another way to sign in.';
        status.hidden = false;
      });
    });
  });
})();
`;
