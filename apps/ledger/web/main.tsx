import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import './styles.css';
import { dismissFresh, startAlerts, stopAlerts, useAlerts } from './src/alerts-store';
import { StatusBadge } from './src/components/badges';
import { AccountPage, AccountsIndex } from './src/pages/accounts';
import { AlertsPage } from './src/pages/alerts';
import { EventPage } from './src/pages/event';
import { EventsPage } from './src/pages/events';
import { ShipmentPage } from './src/pages/shipment';
import { ShipmentsPage } from './src/pages/shipments';
import { TracePage } from './src/pages/trace';
import { href, navigate, useRoute, type Route } from './src/router';
import { Logo, SignIn, useSession } from './src/components/sign-in';
import { saveSession, type Session } from './src/session';

const NAV: Array<[string, string, string]> = [
  ['events', '#/events', 'Events'],
  ['shipments', '#/shipments', 'Shipments'],
  ['alerts', '#/alerts', 'Alerts'],
  ['accounts', '#/accounts', 'Accounts'],
];

function Shell({ session, route }: { session: Session; route: Route }) {
  const alerts = useAlerts();
  const open = alerts.items.filter((a) => !a.acknowledged).length;
  const section = route.parts[0] === 'traces' ? 'events' : (route.parts[0] ?? 'events');
  useEffect(() => {
    startAlerts();
    return stopAlerts;
  }, [session.key]);
  const latest = alerts.fresh.length ? alerts.items.find((a) => a.id === alerts.fresh[0]) : undefined;
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="#/events">
          <Logo /> Waybill <span class="muted">ledger</span>
        </a>
        <nav class="mainnav" aria-label="Main">
          {NAV.map(([key, link, label]) => (
            <a key={key} href={link} class={section === key ? 'active' : ''} aria-current={section === key ? 'page' : undefined}>
              {label}
              {key === 'alerts' && open > 0 ? (
                <span class="count-badge" aria-label={`${open} open`} data-testid="alert-count">
                  {open}
                </span>
              ) : null}
            </a>
          ))}
        </nav>
        <div class="who">
          <a href="ops/" data-testid="ops-link">Operations</a>
          <span class="who-name" data-testid="whoami">
            {session.principal} <span class={`role role-${session.role}`}>{session.role}</span>
          </span>
          <button type="button" class="link" onClick={() => saveSession(null)}>
            Sign out
          </button>
        </div>
      </header>
      {latest && route.parts[0] !== 'alerts' ? (
        <div class="toast" role="alert" data-testid="alert-toast">
          {latest.violation ? (
            <>
              <strong>Rule violation:</strong> {latest.violation.observedBy} (in {latest.violation.source}, reported by {latest.initiatedBy}) did {latest.violation.transition} on shipment {latest.shipmentId}
            </>
          ) : (
            <>
              <strong>Alert:</strong> {latest.initiatedBy} tried {latest.commandType} on shipment {latest.shipmentId}
            </>
          )}
          {!latest.violation && latest.rejection?.currentStatus ? (
            <>
              {' '}
              from <StatusBadge status={latest.rejection.currentStatus} />
            </>
          ) : null}
          <a class="button" href="#/alerts" onClick={dismissFresh}>
            See alerts
          </a>
          <button type="button" class="link" onClick={dismissFresh} aria-label="Dismiss">
            ✕
          </button>
        </div>
      ) : null}
      <main id="main" tabIndex={-1}>
        <Page route={route} />
      </main>
    </>
  );
}

function Page({ route }: { route: Route }) {
  const [section, id] = route.parts;
  switch (section) {
    case undefined:
    case 'events':
      return id ? <EventPage key={id} id={id} /> : <EventsPage key={route.query.toString()} route={route} />;
    case 'shipments':
      return id ? <ShipmentPage key={id} id={id} asOf={route.query.get('asOf') ?? undefined} knownAt={route.query.get('knownAt') ?? undefined} /> : <ShipmentsPage key={route.query.toString()} route={route} />;
    case 'traces':
      return id ? <TracePage key={id} id={id} /> : <NotFound />;
    case 'alerts':
      return <AlertsPage />;
    case 'accounts':
      return id ? <AccountPage key={id} id={id} /> : <AccountsIndex />;
    default:
      return <NotFound />;
  }
}

function NotFound() {
  return (
    <div class="page">
      <h1>Nothing here</h1>
      <p>
        <a href={href('events')}>Back to the events</a>
      </p>
    </div>
  );
}

function App() {
  const session = useSession();
  const route = useRoute();
  useEffect(() => {
    if (!location.hash) navigate('#/events');
  }, []);
  useEffect(() => {
    const [section, id] = route.parts;
    document.title = `${id ? `${id} · ` : ''}${section ? section[0].toUpperCase() + section.slice(1) : 'Events'} · Waybill ledger`;
    window.scrollTo(0, 0);
  }, [route.hash.split('?')[0]]);
  return session ? (
    <Shell session={session} route={route} />
  ) : (
    <SignIn heading="Sign in">
      <div class="brand big">
        <Logo /> Waybill ledger
      </div>
    </SignIn>
  );
}

const mount = document.getElementById('app');
if (!mount) throw new Error('index.html has no #app element to render the admin page into');
render(<App />, mount);
