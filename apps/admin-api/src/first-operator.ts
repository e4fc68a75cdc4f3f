import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import { UserService } from '@gatehouse/identity';

/** Creates the first operator from ADMIN_EMAIL / ADMIN_PASSWORD when no user has the admin role. */
@Injectable()
export class FirstOperator implements OnApplicationBootstrap {
  private readonly logger = new Logger(FirstOperator.name);

  constructor(
    @InjectConfig() private readonly config: GatehouseConfig,
    private readonly users: UserService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const operator = this.config.bootstrapOperator;
    if (!operator) {
      return;
    }
    const created = await this.users.ensureBootstrapOperator(operator.email, operator.password);
    if (created) {
      this.logger.log(`Bootstrap operator ${created.email} has the admin role`);
    }
  }
}
