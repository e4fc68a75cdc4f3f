import { Module } from '@nestjs/common';
import { IdentityModule } from '@gatehouse/identity';

import { JobWorker } from './job-worker.js';

@Module({ imports: [IdentityModule], providers: [JobWorker] })
export class JobsModule {}
