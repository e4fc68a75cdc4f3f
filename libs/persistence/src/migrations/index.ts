import { CreateSchema1763900000000 } from './1763900000000-create-schema.js';

/** Every migration, in order. Imported as classes: globs do not survive bundling. */
export const migrations = [CreateSchema1763900000000];
