/**
 * Clients the tests share across files (memjs clients handed to configureLocking, ...): used until
 * the last test, so no single file can close them. The service fixture closes them after the last
 * test, before it checks that nothing is left open.
 */
const clients = new Set<{close(): void}>();

export function closeAtEnd<T extends {close(): void}>(client: T): T {
  clients.add(client);
  return client;
}

export function closeSharedClients(): void {
  for (const client of clients) client.close();
  clients.clear();
}
