// Kept for the next step of #19 (raw SQLite statements → async forms): needs ts-morph, not a
// dependency of the project: `npm i --no-save ts-morph@25`, then `node scripts/codemods/async-db.mjs . [--raw]`
// Codemod: drizzle's synchronous SQLite calls → awaited queries that any dialect answers, and the
// async cascade up the call graph. Every decision is made on the unmodified program (type checker
// and find-references stay cached), then the edits are applied innermost first.
// Usage: node async-db.mjs <repo> [--dry] [--seed=src/file.ts:functionName ...]
import { Project, SyntaxKind, Node } from 'ts-morph';
import path from 'node:path';

const repo = path.resolve(process.argv[2] ?? '.');
const dry = process.argv.includes('--dry');
const only = (process.argv.find((a) => a.startsWith('--only=')) ?? '--only=').slice(7).split(',').filter(Boolean);
const project = new Project({ tsConfigFilePath: path.join(repo, 'tsconfig.json') });
const manual = [];
const note = (node, why) => {
  const sf = node.getSourceFile();
  manual.push(`${path.relative(repo, sf.getFilePath())}:${node.getStartLineNumber()}: ${why}`);
};

const BUILDER = /\bSQLite(Select|Insert|Update|Delete|SyncRelationalQuery|RelationalQuery|Raw|CountBuilder)|SQLiteSelectBase|SQLiteInsertBase|SQLiteUpdateBase|SQLiteDeleteBase/;
const ARRAY_CB = new Set(['map', 'forEach', 'filter', 'some', 'every', 'find', 'findIndex', 'reduce', 'flatMap', 'sort', 'findLast', 'toSorted']);

const isFnLike = (n) =>
  Node.isFunctionDeclaration(n) || Node.isArrowFunction(n) || Node.isFunctionExpression(n) || Node.isMethodDeclaration(n);

function enclosingFn(node) {
  let n = node.getParent();
  while (n) {
    if (isFnLike(n)) return n;
    if (Node.isConstructorDeclaration(n) || Node.isGetAccessorDeclaration(n) || Node.isSetAccessorDeclaration(n) || Node.isClassStaticBlockDeclaration(n)) return n;
    n = n.getParent();
  }
  return undefined; // module top level (top-level await is fine in ESM)
}

function ensureImport(sf, name) {
  let rel = path.relative(path.dirname(sf.getFilePath()), path.join(repo, 'src/db/client.js')).replace(/\\/g, '/');
  if (!rel.startsWith('.')) rel = './' + rel;
  const existing = sf.getImportDeclarations().find((d) => d.getModuleSpecifierValue() === rel && !d.isTypeOnly());
  if (existing) {
    if (!existing.getNamedImports().some((n) => n.getName() === name)) existing.addNamedImport(name);
  } else sf.addImportDeclaration({ moduleSpecifier: rel, namedImports: [name] });
}

// ---- phase 1: analysis
const sites = []; // { node, kind: 'terminal' | 'await', info }
const seenSites = new Set();
const addSite = (node, kind, info) => {
  if (seenSites.has(node)) return;
  seenSites.add(node);
  sites.push({ node, kind, info });
};
const pendingAsync = new Set();
const ifaceReturns = new Set();
const worklist = [];

function markAsync(fn, reason) {
  if (!fn || pendingAsync.has(fn)) return;
  if (Node.isConstructorDeclaration(fn) || Node.isGetAccessorDeclaration(fn) || Node.isSetAccessorDeclaration(fn) || Node.isClassStaticBlockDeclaration(fn)) {
    note(fn, `cannot be async (${fn.getKindName()}): ${reason}`);
    return;
  }
  if (fn.isGenerator && fn.isGenerator()) {
    note(fn, 'generator needs an async form');
    return;
  }
  if (isNativeTxCallback(fn)) {
    note(fn, `better-sqlite3 transaction callback reaches async code (${reason}): make it db.transaction`);
    markAsync(enclosingFn(isNativeTxCallback(fn)), reason);
    return;
  }
  pendingAsync.add(fn);
  if (fn.isAsync()) return;
  const params = fn.getParameters().map((p) => p.getName());
  if (params.includes('done') || params.includes('next')) note(fn, 'callback-style function (done/next) became async');
  const parent = fn.getParent();
  if (Node.isCallExpression(parent) && parent.getArguments().includes(fn)) {
    const callee = parent.getExpression();
    if (Node.isPropertyAccessExpression(callee) && ARRAY_CB.has(callee.getName())) {
      note(fn, `async callback of .${callee.getName()}() — rewrite as a loop / Promise.all`);
      return;
    }
  }
  worklist.push(fn);
}

for (const seed of process.argv.filter((a) => a.startsWith('--seed=')).map((a) => a.slice(7))) {
  const [file, name] = seed.split(':');
  const fn = project.getSourceFileOrThrow(path.join(repo, file)).getFunction(name);
  if (!fn) throw new Error('seed not found ' + seed);
  pendingAsync.add(fn);
  worklist.push(fn);
}

for (const sf of project.getSourceFiles()) {
  if (!/\/(src|test|bench)\//.test(sf.getFilePath())) continue;
  for (const call of sf.getDescendantsOfKind(SyntaxKind.CallExpression)) {
    const callee = call.getExpression();
    if (!Node.isPropertyAccessExpression(callee)) continue;
    const name = callee.getName();
    if (!['all', 'get', 'run', 'transaction'].includes(name)) continue;
    let typeText;
    try {
      typeText = callee.getExpression().getType().getText();
    } catch {
      continue;
    }
    if (name === 'transaction') {
      if (!/BetterSQLite3Database|SQLiteTransaction|\bDb(Like|Tx)?\b/.test(typeText)) continue;
      const cb = call.getArguments()[0];
      if (!cb || !(Node.isArrowFunction(cb) || Node.isFunctionExpression(cb))) {
        note(call, 'transaction with a non-literal callback');
        continue;
      }
      pendingAsync.add(cb);
      if (!Node.isAwaitExpression(call.getParent())) addSite(call, 'await');
      markAsync(enclosingFn(call), 'transaction');
      continue;
    }
    if (call.getArguments().length !== 0) continue;
    if (!BUILDER.test(typeText) || /Prepare/.test(typeText)) continue;
    const isSelect = /SQLiteSelect/.test(typeText) && !/SQLite(Insert|Update|Delete)/.test(typeText);
    addSite(call, 'terminal', { name, isSelect });
    markAsync(enclosingFn(call), `.${name}()`);
  }
}

// --raw: functions that execute raw better-sqlite3 statements (or drizzle prepared queries, or
// better-sqlite3's own transactions) become async too, bodies unchanged, so that their PostgreSQL
// forms can be written later without another cascade.
const rawMode = process.argv.includes('--raw');
const RAW_EXCLUDE = [/\/src\/db\//, /station-worker\.ts$/, /node-call-writer/, /\/test\//, /\/bench\//];
function isNativeTxCallback(fn) {
  const p = fn.getParent();
  if (!Node.isCallExpression(p) || !p.getArguments().includes(fn)) return undefined;
  const callee = p.getExpression();
  if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== 'transaction') return undefined;
  let t; try { t = callee.getExpression().getType().getText(); } catch { return undefined; }
  return /better-sqlite3|Database\b/.test(t) && !/BetterSQLite3Database|SQLiteTransaction|\bDb(Like|Tx)?\b/.test(t) ? p : undefined;
}
if (rawMode) {
  let rawSeeds = 0;
  for (const sf of project.getSourceFiles()) {
    const fp = sf.getFilePath();
    if (!/\/src\//.test(fp) || RAW_EXCLUDE.some((r) => r.test(fp))) continue;
    for (const call of sf.getDescendantsOfKind(SyntaxKind.CallExpression)) {
      const callee = call.getExpression();
      let recvType = '';
      let hit = false;
      if (Node.isPropertyAccessExpression(callee)) {
        const name = callee.getName();
        try { recvType = callee.getExpression().getType().getText(); } catch { continue; }
        if (['get', 'all', 'run', 'iterate', 'execute', 'values'].includes(name) && /\bStatement<|SQLitePreparedQuery|PreparedQuery|SQLiteSelectPrepare|SQLiteInsertPrepare|SQLiteUpdatePrepare|SQLiteDeletePrepare/.test(recvType)) hit = true;
        if (['immediate', 'deferred', 'exclusive'].includes(name) && /\bTransaction<|Database\.Transaction/.test(recvType)) hit = true;
        if (['exec', 'pragma'].includes(name) && /better-sqlite3|\bDatabase\b/.test(recvType) && !/BetterSQLite3Database/.test(recvType)) hit = true;
      } else if (Node.isIdentifier(callee)) {
        try { recvType = callee.getType().getText(); } catch { continue; }
        if (/\bTransaction<|Database\.Transaction/.test(recvType)) hit = true;
      }
      if (!hit) continue;
      let fn = enclosingFn(call);
      let guard = 0;
      while (fn && guard++ < 10) {
        const txCall = isNativeTxCallback(fn);
        if (!txCall) break;
        fn = enclosingFn(txCall);
      }
      if (fn && !pendingAsync.has(fn)) { rawSeeds++; markAsync(fn, 'raw SQLite'); }
    }
  }
  console.log('raw seeds', rawSeeds);
}

function nameNodeOf(fn) {
  if (Node.isFunctionDeclaration(fn) || Node.isMethodDeclaration(fn)) return fn.getNameNode();
  const p = fn.getParent();
  if (Node.isVariableDeclaration(p) || Node.isPropertyAssignment(p) || Node.isPropertyDeclaration(p)) return p.getNameNode();
  return undefined;
}

let cascaded = 0;
while (worklist.length) {
  const fn = worklist.shift();
  const nameNode = nameNodeOf(fn);
  if (!nameNode) continue;
  let refs;
  try {
    refs = nameNode.findReferencesAsNodes();
  } catch {
    note(fn, 'findReferences failed');
    continue;
  }
  for (const ref of refs) {
    let callee = ref;
    let p = ref.getParent();
    if (Node.isPropertyAccessExpression(p) && p.getNameNode() === ref) {
      callee = p;
      p = p.getParent();
    }
    if (Node.isMethodSignature(p) || Node.isPropertySignature(p)) {
      if (p.getSourceFile().getFilePath().includes('/node_modules/')) note(fn, `implements a library's ${nameNode.getText()}: keep its signature`);
      else ifaceReturns.add(p);
      continue;
    }
    if (Node.isCallExpression(p) && p.getExpression() === callee) {
      if (!Node.isAwaitExpression(p.getParent())) {
        addSite(p, 'await');
        cascaded++;
      }
      markAsync(enclosingFn(p), `calls ${nameNode.getText()}`);
    } else if (
      Node.isImportSpecifier(p) || Node.isExportSpecifier(p) || ref === nameNode || Node.isFunctionDeclaration(p) ||
      Node.isVariableDeclaration(p) || Node.isMethodDeclaration(p) || Node.isPropertyAssignment(p) ||
      Node.isShorthandPropertyAssignment(p) || Node.isTypeQuery(p) || Node.isPropertyDeclaration(p) || /JSDoc/.test(p.getKindName())
    ) {
      // declarations, imports, docs
    } else {
      note(ref, `${nameNode.getText()} used as a value (${p.getKindName()}): check that the promise is awaited`);
    }
  }
}

// ---- phase 2: edits, innermost first
const byPos = (a, b) => {
  const fa = a.getSourceFile().getFilePath();
  const fb = b.getSourceFile().getFilePath();
  if (fa !== fb) return fa < fb ? -1 : 1;
  return b.getStart() - a.getStart() || a.getEnd() - b.getEnd();
};
const wrapFn = (fn) => {
  if (fn.wasForgotten() || fn.isAsync()) return;
  fn.setIsAsync(true);
  const rt = fn.getReturnTypeNode();
  if (rt && !/^Promise</.test(rt.getText())) rt.replaceWithText(`Promise<${rt.getText()}>`);
};
// function headers first (they precede the bodies, so later edits inside the bodies keep them)
const fns = [...pendingAsync];
fns.sort(byPos);
for (const fn of fns) wrapFn(fn);
sites.sort((a, b) => byPos(a.node, b.node));
let terminals = 0;
let awaits = 0;
for (const site of sites) {
  const call = site.node;
  if (call.wasForgotten()) {
    note(call, 'site lost during edits');
    continue;
  }
  const parent = call.getParent();
  const needParens =
    Node.isPropertyAccessExpression(parent) || Node.isElementAccessExpression(parent) ||
    (Node.isCallExpression(parent) && parent.getExpression() === call) || Node.isNonNullExpression(parent);
  if (site.kind === 'await') {
    if (Node.isAwaitExpression(parent)) continue;
    call.replaceWithText(needParens ? `(await ${call.getText()})` : `await ${call.getText()}`);
    awaits++;
    continue;
  }
  const { name, isSelect } = site.info;
  const recvText = call.getExpression().getExpression().getText();
  terminals++;
  if (name === 'get') {
    call.replaceWithText(isSelect && !/\.limit\(/.test(recvText) ? `(await ${recvText}.limit(1))[0]` : isSelect ? `(await ${recvText})[0]` : `(await ${recvText})[0]!`);
  } else if (name === 'run' && Node.isPropertyAccessExpression(parent) && parent.getName() === 'changes') {
    const sf = call.getSourceFile();
    parent.replaceWithText(`affectedRows(await ${recvText})`);
    ensureImport(sf, 'affectedRows');
  } else {
    if (name === 'run' && Node.isPropertyAccessExpression(parent) && parent.getName() === 'lastInsertRowid') note(call, 'lastInsertRowid: use returning()');
    call.replaceWithText(needParens ? `(await ${recvText})` : `await ${recvText}`);
  }
}
for (const p of ifaceReturns) {
  if (p.wasForgotten()) continue;
  let rt;
  if (Node.isMethodSignature(p)) rt = p.getReturnTypeNode();
  else {
    const tn = p.getTypeNode();
    if (tn && Node.isFunctionTypeNode(tn)) rt = tn.getReturnTypeNode();
  }
  if (rt && !/^Promise</.test(rt.getText())) rt.replaceWithText(`Promise<${rt.getText()}>`);
}

console.log(`terminal calls ${terminals}, awaits added ${awaits} (cascade ${cascaded}), async functions ${pendingAsync.size}, interface members ${ifaceReturns.size}`);
console.log(`manual review: ${manual.length}`);
for (const m of [...new Set(manual)]) console.log('  ' + m);
if (!dry) {
  for (const sf of project.getSourceFiles()) {
    const fp = sf.getFilePath();
    if (sf.isSaved() || !fp.startsWith(repo + '/') || fp.includes('/node_modules/')) continue;
    if (only.length && !only.some((d) => fp.startsWith(path.join(repo, d) + '/'))) {
      console.log('NOT SAVED (outside --only): ' + path.relative(repo, fp));
      continue;
    }
    sf.saveSync();
  }
}
