/**
 * The load balancer's configuration as README renders it (deploy/nginx/sael-pay-cluster.conf with
 * envsubst): every placeholder filled, no header that shows clients the processes' internal
 * addresses, and nginx accepts it (`nginx -t`, when nginx is installed). The cluster test renders
 * the same file with X-Upstream added, to follow its calls (test/cluster/).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { findNginx, NGINX_TEMPLATE, renderNginxConf, writeNginxConf } from './cluster/harness.js';

const template = fs.readFileSync(NGINX_TEMPLATE, 'utf8');
const vars = { SAEL_LISTEN: '127.0.0.1:8080', SAEL_APP_1: '10.0.0.11:3000', SAEL_APP_2: '10.0.0.12:3000' };

/** Directives outside comments. */
const directives = (conf: string) => conf.split('\n').map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean);

t.test('as README renders it: no placeholder left, no upstream address in the answers', async (t) => {
  const conf = renderNginxConf(template, vars);
  t.notMatch(conf, /\$\{SAEL_/, 'every placeholder filled');
  const lines = directives(conf);
  t.ok(lines.includes('server 10.0.0.11:3000 max_fails=1 fail_timeout=10s;'), 'first process in the upstream');
  t.ok(lines.includes('server 10.0.0.12:3000 max_fails=1 fail_timeout=10s;'), 'second process in the upstream');
  t.same(lines.filter((l) => /\$upstream_|X-Upstream/i.test(l)), [], 'no directive sends the upstream address to clients');
  t.ok(lines.includes('proxy_set_header X-Sael-Station-Secret "";'), "a client's station secret is dropped");
  t.throws(() => renderNginxConf(template, { SAEL_LISTEN: '8080' }), /no value for \$\{SAEL_APP_1\}/, 'a missing value is refused');
});

t.test("the cluster test's rendering adds X-Upstream inside the proxied location only", async (t) => {
  const conf = renderNginxConf(template, vars, { exposeUpstream: true });
  const lines = directives(conf);
  const at = lines.indexOf('add_header X-Upstream $upstream_addr always;');
  t.equal(lines[at - 1], 'proxy_pass http://sael_pay;', 'right after proxy_pass');
  t.equal(lines.filter((l) => l.startsWith('add_header')).length, 1, 'one header added');
  t.throws(() => renderNginxConf(template.replace('proxy_pass http://sael_pay;', 'proxy_pass http://other;'), vars, { exposeUpstream: true }), /no "proxy_pass/);
});

const nginx = findNginx();
t.test('nginx accepts the rendered file', { skip: nginx ? false : 'nginx not installed' }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sael-nginx-conf-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const args = writeNginxConf(dir, renderNginxConf(template, vars));
  const r = spawnSync(nginx!, ['-t', ...args], { encoding: 'utf8' });
  t.equal(r.status, 0, `nginx -t: ${r.stderr.trim()}`);
});
