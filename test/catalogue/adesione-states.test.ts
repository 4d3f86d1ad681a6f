/** The adesione state machine (§B.4), pure and exhaustive: every action × state × actor. */
import t from 'tap';
import { ADESIONE_ACTIONS, addDays, availableActions, checkTransition, daysBetween, periodEnd, type AdesioneAction, type AdesioneActorKind } from '../../src/modules/catalogue/adesione-states.js';
import { ADESIONE_STATUSES, type AdesioneStatus } from '../../src/modules/catalogue/schema.js';

/** The transitions of the spec, written out independently of the module's table. */
const VALID: [AdesioneStatus, AdesioneAction, AdesioneActorKind[], AdesioneStatus][] = [
  ['draft', 'submit', ['referente'], 'submitted'],
  ['changes_requested', 'submit', ['referente'], 'submitted'],
  ['submitted', 'review', ['sael'], 'under_review'],
  ['submitted', 'auto_approve', ['system'], 'approved'],
  ['under_review', 'approve', ['sael'], 'approved'],
  ['under_review', 'reject', ['sael'], 'rejected'],
  ['under_review', 'request_changes', ['sael'], 'changes_requested'],
  ['approved', 'activate', ['sael', 'system'], 'active'],
  ['active', 'suspend', ['sael'], 'suspended'],
  ['suspended', 'resume', ['sael'], 'active'],
  ['active', 'mark_expiring', ['system'], 'expiring'],
  ['active', 'renew', ['system'], 'renewed'],
  ['expiring', 'renew', ['system'], 'renewed'],
  ['active', 'expire', ['system'], 'expired'],
  ['expiring', 'expire', ['system'], 'expired'],
  ['suspended', 'expire', ['system'], 'expired'],
  ['active', 'withdraw', ['referente', 'sael'], 'withdrawn'],
  ['expiring', 'withdraw', ['referente', 'sael'], 'withdrawn'],
  ['suspended', 'withdraw', ['referente', 'sael'], 'withdrawn'],
];
const ACTORS: AdesioneActorKind[] = ['referente', 'sael', 'system'];

t.test('every action from every state by every actor', async (t) => {
  let valid = 0;
  let conflicts = 0;
  let forbidden = 0;
  for (const action of ADESIONE_ACTIONS) {
    const byAction = VALID.filter((v) => v[1] === action);
    const allowedActors = new Set(byAction.flatMap((v) => v[2]));
    for (const from of ADESIONE_STATUSES) {
      for (const actor of ACTORS) {
        const r = checkTransition(from, action, actor, 'nota');
        const rule = byAction.find((v) => v[0] === from && v[2].includes(actor));
        if (rule) {
          t.same(r, { ok: true, to: rule[3] }, `${from} --${action}/${actor}--> ${rule[3]}`);
          valid++;
        } else if (!allowedActors.has(actor)) {
          t.equal(r.ok ? 0 : r.status, 403, `${action} by ${actor} is forbidden`);
          forbidden++;
        } else {
          t.equal(r.ok ? 0 : r.status, 409, `${action} from ${from} is a conflict`);
          if (!r.ok) t.match(r.message, /non consentita: l’adesione è nello stato «/);
          conflicts++;
        }
      }
    }
  }
  t.equal(valid, VALID.reduce((n, v) => n + v[2].length, 0), 'every valid transition checked');
  t.ok(conflicts > 100 && forbidden > 100, `${conflicts} conflicts, ${forbidden} forbidden`);
});

t.test('reject and request changes need a note', async (t) => {
  t.same(checkTransition('under_review', 'reject', 'sael', '  '), { ok: false, status: 400, message: 'Indica il motivo del rifiuto.' });
  t.match(checkTransition('under_review', 'request_changes', 'sael', null), { ok: false, status: 400 });
  t.same(checkTransition('under_review', 'reject', 'sael', 'Manca la delibera'), { ok: true, to: 'rejected' });
});

t.test('available actions for the buttons', async (t) => {
  t.same(availableActions('under_review', 'sael'), ['approve', 'reject', 'request_changes']);
  t.same(availableActions('active', 'referente'), ['withdraw']);
  t.same(availableActions('active', 'sael'), ['suspend', 'withdraw']);
  t.same(availableActions('rejected', 'sael'), []);
});

t.test('period dates', async (t) => {
  t.equal(periodEnd('2026-03-02', 12), '2027-03-01');
  t.equal(periodEnd('2026-01-01', 12), '2026-12-31');
  t.equal(periodEnd('2026-01-31', 1), '2026-02-28', 'a shorter month ends on its last day');
  t.equal(periodEnd('2024-02-29', 12), '2025-02-28');
  t.equal(addDays('2026-12-31', 1), '2027-01-01');
  t.equal(addDays('2026-03-01', -1), '2026-02-28');
  t.equal(daysBetween('2026-01-01', '2026-03-02'), 60);
});
