// The same app's Passport side (`node dist/main.js <adapter> --passport`): GatehouseJwtStrategy from
// the package's own entry point, so main.ts imports it only when asked to, and the app runs without
// any Passport package installed otherwise.
import { Controller, Get, UseGuards } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { CurrentUser } from '@gatehouse/nest-auth';
import { GatehouseJwtStrategy } from '@gatehouse/nest-auth/passport';

@Controller('passport')
export class PassportWhoamiController {
  @Get('whoami')
  @UseGuards(AuthGuard('gatehouse'))
  whoami(@CurrentUser() user: CurrentUser): { id: string; sessionId: string | null } {
    return { id: user.id, sessionId: user.sessionId };
  }
}

export const passportProviders = [GatehouseJwtStrategy];
