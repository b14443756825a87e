// Baseline of the benchmark: a plain Koa app with @koa/router answering a fixed JSON body of
// the size /data/read answers. No token check, no logging, no metrics.
import Router from '@koa/router';
import Koa from 'koa';

const body = JSON.parse(process.env.BENCH_BODY ?? '{}');
const app = new Koa();
const router = new Router();
router.get('/data/read', (ctx) => {
  ctx.body = body;
});
app.use(router.routes());
app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
