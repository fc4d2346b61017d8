import {LOCKS_PAGE_SCRIPT} from './page-script';

export {LOCKS_PAGE_SCRIPT};

/** The live locks page: one static document, its style and its script inline. */
export const LOCKS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Locks · cloud-functions-locking</title>
<style>
  :root { --bg: #f4f6f9; --card: #fff; --ink: #17202c; --muted: #6b7685; --line: #e4e8ee; --accent: #2563eb;
    --good: #15803d; --warn: #b45309; --bad: #b91c1c; --info: #1d4ed8; --queue: #7c3aed; --calm: #475569; }
  * { box-sizing: border-box; }
  [hidden] { display: none !important; }
  body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  header { display: flex; align-items: center; gap: 16px; padding: 14px 24px; background: #0f172a; color: #e2e8f0; }
  header h1 { margin: 0; font-size: 17px; font-weight: 600; letter-spacing: .2px; }
  header h1 span { color: #94a3b8; font-weight: 400; }
  header .spacer { flex: 1; }
  #live { padding: 3px 10px; border-radius: 999px; font-size: 12px; background: #334155; }
  #live[data-state="live"] { background: #166534; color: #dcfce7; }
  #live[data-state="live"]::before { content: "● "; }
  #live[data-state="down"] { background: #7f1d1d; color: #fee2e2; }
  #updated { font-size: 12px; color: #94a3b8; min-width: 110px; text-align: right; }
  main { display: grid; grid-template-columns: minmax(0, 2.1fr) minmax(300px, 1fr); gap: 18px; align-items: start; padding: 18px 24px; }
  @media (max-width: 980px) { main { grid-template-columns: 1fr; } }
  section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; box-shadow: 0 1px 2px rgba(15, 23, 42, .05); overflow: hidden; }
  section h2 { margin: 0; padding: 12px 16px; font-size: 13px; font-weight: 600; text-transform: uppercase; letter-spacing: .6px; color: var(--muted); border-bottom: 1px solid var(--line); display: flex; align-items: center; gap: 8px; }
  .count { background: #e0e7ff; color: #3730a3; border-radius: 999px; padding: 0 9px; font-size: 12px; }
  h2 label { margin-left: auto; text-transform: none; letter-spacing: 0; font-weight: 400; }
  .table-wrap { overflow-x: auto; }
  table { width: 100%; border-collapse: collapse; }
  th { text-align: left; white-space: nowrap; font-size: 12px; font-weight: 600; color: var(--muted); padding: 8px 9px; background: #fafbfc; border-bottom: 1px solid var(--line); }
  td { padding: 9px 9px; border-bottom: 1px solid var(--line); vertical-align: middle; }
  tr:last-child td { border-bottom: 0; }
  tr.fresh td { animation: flash 1.6s ease-out; }
  @keyframes flash { from { background: #fef9c3; } to { background: transparent; } }
  .identifier { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-weight: 600; max-width: 220px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
  .num { font-variant-numeric: tabular-nums; white-space: nowrap; }
  .muted { color: var(--muted); }
  .lease { display: flex; align-items: center; gap: 8px; white-space: nowrap; }
  .fence { font-size: 11px; color: var(--calm); }
  .depth.waiting { color: var(--queue); font-weight: 600; }
  .bar { width: 44px; height: 6px; border-radius: 3px; background: #e5e7eb; overflow: hidden; flex: none; }
  .fill { height: 100%; background: var(--good); transition: width .4s linear; }
  .fill.low { background: var(--warn); }
  .fill.over { background: var(--bad); }
  .empty { padding: 26px 16px; color: var(--muted); text-align: center; }
  #weak-note { margin: 0; padding: 8px 16px; color: var(--muted); font-size: 12px; border-bottom: 1px solid var(--line); }
  .kind { font-family: system-ui, sans-serif; font-size: 10.5px; font-weight: 600; letter-spacing: .4px; padding: 1px 6px; margin-right: 6px; border-radius: 999px; background: #fef3c7; color: var(--warn); }
  #problem { margin: 0; padding: 10px 16px; background: #fef2f2; color: var(--bad); border-bottom: 1px solid #fecaca; }
  #token-form { padding: 10px 16px; display: flex; gap: 8px; border-bottom: 1px solid var(--line); }
  #token-form input { flex: 1; padding: 6px 8px; border: 1px solid var(--line); border-radius: 6px; font: inherit; }
  #token-form button { padding: 6px 12px; border: 0; border-radius: 6px; background: var(--accent); color: #fff; font: inherit; cursor: pointer; }
  #feed-list { list-style: none; margin: 0; padding: 0; max-height: calc(100vh - 150px); overflow-y: auto; }
  .event { display: grid; grid-template-columns: auto auto 1fr; column-gap: 10px; row-gap: 2px; padding: 8px 16px; border-bottom: 1px solid var(--line); align-items: baseline; }
  .event time { color: var(--muted); font-size: 12px; }
  .event .what { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .event .identifier { max-width: none; }
  .event .details { grid-column: 3; color: var(--muted); font-size: 12px; }
  .badge { font-size: 11.5px; font-weight: 600; padding: 1px 8px; border-radius: 999px; white-space: nowrap; background: #f1f5f9; color: var(--calm); }
  .good .badge { background: #dcfce7; color: var(--good); }
  .warn .badge { background: #fef3c7; color: var(--warn); }
  .bad .badge { background: #fee2e2; color: var(--bad); }
  .info .badge { background: #dbeafe; color: var(--info); }
  .queue .badge { background: #ede9fe; color: var(--queue); }
  .muted .badge { background: #f1f5f9; color: var(--muted); }
  footer { padding: 0 24px 18px; color: var(--muted); font-size: 12px; }
</style>
</head>
<body>
<header>
  <h1>cloud-functions-locking <span>· live locks</span></h1>
  <div class="spacer"></div>
  <span id="updated"></span>
  <span id="live" data-state="connecting">connecting…</span>
</header>
<main>
  <section aria-labelledby="locks-title">
    <h2 id="locks-title">Locks held <span class="count" id="lock-count">0</span></h2>
    <form id="token-form" hidden><input id="token" type="password" placeholder="API token (LOCKS_API_TOKEN)" autocomplete="off"><button>Use</button></form>
    <p id="problem" hidden></p>
    <p id="weak-note" hidden></p>
    <div class="table-wrap"><table>
      <thead><tr><th>Identifier</th><th>Holder</th><th>Age</th><th>Lease left</th><th>Fence</th><th title="Messages lockedHandler parked on this lock">Queue</th><th title="How long the oldest parked message has waited">Oldest wait</th></tr></thead>
      <tbody id="locks-body"></tbody>
    </table></div>
    <div class="empty" id="locks-empty">No locks held.</div>
  </section>
  <section aria-labelledby="feed-title">
    <h2 id="feed-title">Live feed <label><input type="checkbox" id="show-renewals"> renewals</label></h2>
    <div class="empty" id="feed-empty">Waiting for lock events from this process…</div>
    <ol id="feed-list" reversed></ol>
  </section>
</main>
<footer>Ages and leases on this page's clock, corrected to the server's. WEAK locks are listed when they live in Valkey; memcached cannot list its keys, so there they appear in the feed only. Never a token: holders are shown by holderId. Queue: messages lockedHandler parked on the lock, woken in order as it is released (a lock left vacant with messages parked is not listed: <code>show ID</code> in the CLI prints its room).</footer>
<script>${LOCKS_PAGE_SCRIPT}</script>
</body>
</html>
`;
