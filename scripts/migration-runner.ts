import { dataSourceOptions } from '@gatehouse/persistence';
import { DataSource } from 'typeorm';

/** Opens a short-lived DataSource for operator scripts and closes it whatever happens. */
export async function withDataSource<T>(
  url: string,
  work: (dataSource: DataSource) => Promise<T>,
): Promise<T> {
  const dataSource = await new DataSource(
    dataSourceOptions({ url, poolSize: 2, applicationName: 'gatehouse-scripts' }),
  ).initialize();
  try {
    return await work(dataSource);
  } finally {
    await dataSource.destroy();
  }
}
