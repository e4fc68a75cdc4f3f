/**
 * @gatehouse/nest-auth — what any Nest app imports to authenticate Gatehouse callers.
 * It depends on no other Gatehouse library, so sibling apps can use it without auth tables.
 */
export { IS_PUBLIC_KEY, Public } from './decorators/public.decorator.js';
