// The shared request context alone: the plain Koa route of plain-koa.mjs behind the service
// kit's requestContext (request id, access line at info, duration histogram), as both services
// run it, and no token check. /data/read of the API does all of this and more, so this
// scenario's ratio to plain Koa is the most /data/read can reach on the machine measured.
// LOG_LEVEL=warn (the bench's kit-quiet) leaves the access line out: all the rest of the context.
import Router from '@koa/router';
import Koa from 'koa';
import { ServiceMetrics, createLogger, requestContext } from '@koa-entra/service-kit';

const body = JSON.parse(process.env.BENCH_BODY ?? '{}');
const level = process.env.LOG_LEVEL ?? 'info';
if (level !== 'info' && level !== 'warn')
  throw new Error(`koa-kit: LOG_LEVEL must be info or warn, got ${JSON.stringify(level)}`);
const logger = createLogger({ service: 'api', level });
const app = new Koa();
app.use(requestContext({ logger, metrics: new ServiceMetrics({ service: 'api' }) }));
const router = new Router();
router.get('/data/read', (ctx) => {
  ctx.body = body;
});
app.use(router.routes());
app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
