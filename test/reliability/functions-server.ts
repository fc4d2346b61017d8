/**
 * The three HTTP functions and the worker in one Functions Framework host (as `npm start` serves
 * them), on PORT, for the bad-input and security scenarios. Configured by the environment alone.
 * Prints {port} once listening.
 */
import '../../functions';
import {functionsHost} from '../../infra/local/functions-host';

const port = Number(process.env.PORT);
const server = functionsHost();
server.listen(port, '127.0.0.1', () =>
  process.stdout.write(`${JSON.stringify({port})}\n`),
);
