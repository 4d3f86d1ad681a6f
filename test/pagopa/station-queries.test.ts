import t from 'tap';
import { sqlRun } from '../../src/db/raw.js';
import { buildTestApp } from '../helpers.js';
import { findByNoticeNumber } from '../../src/modules/positions/repository.js';
import { beneficiaryByFiscalCode, findForStation, servedEnteFast, stationQueries } from '../../src/modules/pagopa/station-queries.js';
import { getEnteByFiscalCode } from '../../src/modules/enti/repository.js';
import { createTari } from './helpers.js';

t.test('the station’s raw statements read what the drizzle repository reads', async (t) => {
  const app = await buildTestApp(t, { PAGOPA_FDR_INTERVAL_MINUTES: '0' });
  const pos = await createTari(app);
  (await sqlRun(app.db, 'UPDATE positions SET switch_to_expired = 1 WHERE iupd = ?', pos.iupd));
  (await sqlRun(app.db, `UPDATE transfers SET metadata = '[{"key":"anno","value":"2026"}]' WHERE id = (SELECT min(id) FROM transfers)`));
  const q = stationQueries(app.db);
  for (const o of pos.options) {
    const ours = (await findForStation(q, pos.enteId, o.noticeNumber))!;
    const theirs = (await findByNoticeNumber(app.db, pos.enteId, o.noticeNumber))!;
    const { serviceName, ...position } = ours.position;
    t.strictSame(position, theirs.position, `position of ${o.noticeNumber}`);
    t.strictSame(ours.option, theirs.option, `option ${o.noticeNumber}`);
    t.equal(position.switchToExpired, true, 'booleans are booleans');
    t.equal(serviceName, 'TARI – Tassa sui rifiuti');
    t.ok(ours.position.options.length > 2 && ours.position.options.every((x) => x.transfers.length === 2), 'every option, each with its two transfers');
  }
  t.ok((await findForStation(q, pos.enteId, pos.options[0]!.noticeNumber))!.position.options.some((o) => o.transfers.some((x) => x.metadata.length === 1)), 'transfer metadata');
  t.equal(await findForStation(q, pos.enteId, '399999999999999999'), undefined);
  const ente = (await getEnteByFiscalCode(app.db, pos.fiscalCode))!;
  t.strictSame(await servedEnteFast(q, pos.fiscalCode), ente, 'the served ente, as drizzle reads it');
  (await sqlRun(app.db, 'UPDATE enti SET member = 0 WHERE id = ?', ente.id));
  t.equal(await servedEnteFast(q, pos.fiscalCode), undefined, 'not a member: not served');
  t.match(await beneficiaryByFiscalCode(q, pos.fiscalCode), { id: ente.id, cf: pos.fiscalCode, name: ente.name });
});
