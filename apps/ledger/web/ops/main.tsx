import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import '../styles.css';
import './ops.css';
import { ApiError, request } from '../src/api';
import { SignIn, useSession } from '../src/components/sign-in';
import { saveSession, type Session } from '../src/session';

// The operations view: consumer groups, their members, committed and end offsets and lag per
// partition, dead letters per `<topic>.dlq`, and each group's last observed rebalance, polled from
// GET /admin/api/ops every two seconds. Signs in with the same session as the admin page.

interface Member { memberId: string; clientId: string; host: string; assignment: Array<{ topic: string; partitions: number[] }> }
interface Partition { topic: string; partition: number; committed: string | null; end: string; lag: string | null; memberId: string | null }
interface Group { groupId: string; state: string; protocol: string; members: Member[]; partitions: Partition[]; totalLag: string; lastRebalance: { observedAt: string | null; after: string | null; seen: number } }
interface DeadLetters { topic: string; source: string; records: number; end: string }
interface Snapshot { generatedAt: string; topicPrefix: string; rebalances: { method: string; pollMs: number; watchingSince: string }; groups: Group[]; deadLetters: DeadLetters[] }

const REFRESH_MS = 2_000;
const time = (iso: string) => new Date(iso).toLocaleTimeString();

function Lag({ lag }: { lag: string | null }) {
  if (lag === null) return <span class="muted">-</span>;
  return <span class={lag !== '0' ? 'lag-positive' : ''}>{lag}</span>;
}

function GroupCard({ group }: { group: Group }) {
  const rebalance = group.lastRebalance;
  return (
    <section class="card" data-testid="ops-group" data-group={group.groupId} aria-label={`group ${group.groupId}`}>
      <div class="card-head">
        <h2>
          <code>{group.groupId}</code> <span class={`state state-${group.state}`} data-testid="ops-group-state">{group.state}</span>
        </h2>
        <span>
          lag <strong data-testid="ops-group-lag"><Lag lag={group.totalLag} /></strong> · {group.members.length} member{group.members.length === 1 ? '' : 's'} · last rebalance{' '}
          <span data-testid="ops-group-rebalance">
            {rebalance.observedAt ? `seen at ${time(rebalance.observedAt)} (after ${rebalance.after ? time(rebalance.after) : '?'}; ${rebalance.seen} seen)` : 'none seen since watching began'}
          </span>
        </span>
      </div>
      <div class="group-grid">
        <div class="table-wrap">
          <table data-testid="ops-members">
            <thead><tr><th>member</th><th>client id</th><th>host</th><th>partitions</th></tr></thead>
            <tbody>
              {group.members.length === 0 ? <tr><td colSpan={4} class="muted">no members (the group is {group.state})</td></tr> : null}
              {group.members.map((m) => (
                <tr key={m.memberId} data-testid="ops-member">
                  <td><code>{m.memberId}</code></td>
                  <td>{m.clientId}</td>
                  <td data-testid="ops-member-host">{m.host}</td>
                  <td>{m.assignment.map((a) => `${a.topic} [${a.partitions.join(', ')}]`).join('; ') || <span class="muted">none</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div class="table-wrap">
          <table data-testid="ops-partitions">
            <thead><tr><th>topic</th><th class="num">partition</th><th class="num">committed</th><th class="num">end</th><th class="num">lag</th><th>owner</th></tr></thead>
            <tbody>
              {group.partitions.map((p) => (
                <tr key={`${p.topic}:${p.partition}`} data-testid="ops-partition" data-topic={p.topic} data-partition={p.partition}>
                  <td>{p.topic}</td>
                  <td class="num">{p.partition}</td>
                  <td class="num" data-testid="ops-committed">{p.committed ?? '-'}</td>
                  <td class="num" data-testid="ops-end">{p.end}</td>
                  <td class="num" data-testid="ops-lag"><Lag lag={p.lag} /></td>
                  <td>{p.memberId ? <code>{p.memberId}</code> : <span class="muted">-</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </section>
  );
}

function Operations({ session }: { session: Session }) {
  const [snapshot, setSnapshot] = useState<Snapshot | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        setSnapshot(await request<Snapshot>('GET', '/admin/api/ops'));
        setError(undefined);
      } catch (err) {
        setError(err instanceof ApiError && err.status === 403 ? 'The operations view is for team leads and supervisors.' : (err as Error).message);
      }
      if (!stopped) timer = setTimeout(load, REFRESH_MS);
    };
    void load();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [session.key]);
  return (
    <main class="ops" id="main">
      <div class="ops-head">
        <h1>Operations</h1>
        <span>
          <a href="../">← ledger</a> · <span data-testid="whoami">{session.principal} ({session.role})</span> ·{' '}
          <button type="button" class="link" onClick={() => saveSession(null)}>Sign out</button>
        </span>
      </div>
      {error ? <p class="error" role="alert" data-testid="ops-error">{error}</p> : null}
      {snapshot ? (
        <>
          <p class="muted" data-testid="ops-updated">
            Updated {time(snapshot.generatedAt)}, every {REFRESH_MS / 1000} s. {snapshot.groups.length} consumer group{snapshot.groups.length === 1 ? '' : 's'}
            {snapshot.topicPrefix ? <> under <code>{snapshot.topicPrefix}</code></> : null}. Rebalances are {snapshot.rebalances.method}; watching since {time(snapshot.rebalances.watchingSince)}.
          </p>
          <section class="card" aria-label="dead letters">
            <div class="card-head"><h2>Dead letters</h2></div>
            <div class="table-wrap">
              <table data-testid="ops-dead-letters">
                <thead><tr><th>topic</th><th>from</th><th class="num">records</th></tr></thead>
                <tbody>
                  {snapshot.deadLetters.length === 0 ? <tr><td colSpan={3} class="muted">no dead-letter topics</td></tr> : null}
                  {snapshot.deadLetters.map((d) => (
                    <tr key={d.topic} data-testid="ops-dlq" data-topic={d.topic}>
                      <td>{d.topic}</td>
                      <td>{d.source}</td>
                      <td class="num" data-testid="ops-dlq-records"><span class={d.records > 0 ? 'lag-positive' : ''}>{d.records}</span></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
          {snapshot.groups.map((g) => <GroupCard key={g.groupId} group={g} />)}
        </>
      ) : error ? null : (
        <p class="muted">Loading…</p>
      )}
    </main>
  );
}

function App() {
  const session = useSession();
  return session ? <Operations session={session} /> : <SignIn heading="Operations: sign in" />;
}

const root = document.getElementById('app');
if (root) render(<App />, root);
