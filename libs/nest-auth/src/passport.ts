/**
 * @gatehouse/nest-auth/passport — `GatehouseJwtStrategy` for apps built around @nestjs/passport.
 * Its own entry point: only apps that import it need @nestjs/passport, passport and passport-jwt.
 */
export { GatehouseJwtStrategy } from './passport/gatehouse-jwt.strategy.js';
export { GATEHOUSE_STRATEGY } from './passport/passport-route.js';
