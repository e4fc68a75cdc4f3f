import {
  type BeforeApplicationShutdown,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { type GatehouseConfig, InjectConfig } from '@gatehouse/config';
import {
  BACKCHANNEL_LOGOUT_TASK,
  BackchannelLogoutService,
  MAIL_SEND_TASK,
  MailDelivery,
  PASSWORD_RESET_REQUEST_TASK,
  PasswordResetService,
  WEBHOOK_DELIVER_TASK,
  WebhookDeliveryTask,
} from '@gatehouse/identity';
import { type JobHandler, type JobWorker as Worker, startJobWorker } from '@gatehouse/persistence';

/** How long the shutdown waits for running jobs before abandoning them (they are retried). */
const STOP_TIMEOUT_MS = 10_000;

/**
 * The platform's job worker (graphile-worker), in every auth-api instance whose
 * `JOB_WORKER_CONCURRENCY` is above 0: it runs the durable side effects that transactions enqueued.
 * Mail is delivered only where `SMTP_URL` is set; elsewhere it waits in the queue. Stopped before the
 * database pool closes.
 */
@Injectable()
export class JobWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(JobWorker.name);
  private worker: Worker | undefined;

  constructor(
    @InjectConfig() private readonly config: GatehouseConfig,
    private readonly mail: MailDelivery,
    private readonly passwordResets: PasswordResetService,
    private readonly webhooks: WebhookDeliveryTask,
    private readonly backchannelLogout: BackchannelLogoutService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const tasks: Record<string, JobHandler> = {
      [WEBHOOK_DELIVER_TASK]: (payload) => this.webhooks.deliver(payload),
    };
    if (this.mail.enabled) {
      tasks[MAIL_SEND_TASK] = (payload, job) => this.mail.deliver(payload, job);
      // A reset request becomes a link only where it can be mailed; elsewhere it waits its turn.
      tasks[PASSWORD_RESET_REQUEST_TASK] = (payload) => this.passwordResets.issueRequested(payload);
    } else {
      this.logger.warn('SMTP_URL is not set: mail is queued, not sent.');
    }
    tasks[BACKCHANNEL_LOGOUT_TASK] = (payload, job) => this.backchannelLogout.deliver(payload, job);
    const { concurrency, pollIntervalMs, staleLockSeconds } = this.config.jobs;
    const url = this.config.database.url;
    if (concurrency === 0 || Object.keys(tasks).length === 0 || !url) {
      return;
    }
    this.worker = await startJobWorker({
      url,
      concurrency,
      pollIntervalMs,
      staleLockSeconds,
      tasks,
      log: (level, message) => {
        if (level !== 'debug') {
          this.logger[level === 'info' ? 'log' : level](message);
        }
      },
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.worker?.stop(STOP_TIMEOUT_MS);
    this.worker = undefined;
  }
}
