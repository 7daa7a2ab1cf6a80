import type { ComponentChildren } from 'preact';
import { enc, get } from '../api';
import { EventBadge, ViolationBadge } from '../components/badges';
import { ViolationDetail } from '../components/observation';
import { Card, DataView, ErrorBox, Loading, Time } from '../components/common';
import { useAsync } from '../hooks';
import { href, hrefWithQuery } from '../router';
import type { LedgerEvent } from '../types';

interface EventAnswer {
  event: LedgerEvent;
  previous: LedgerEvent | null;
  next: LedgerEvent | null;
}

export function EventPage({ id }: { id: string }) {
  const { data, error, loading } = useAsync((signal) => get<EventAnswer>(`/events/${enc(id)}`, signal), [id]);
  if (error) return <ErrorBox error={error} what={`event ${id}`} />;
  if (!data) return loading ? <Loading what="Loading the event" /> : null;
  const { event: e, previous, next } = data;
  return (
    <div class="page">
      <nav class="crumbs" aria-label="Breadcrumbs">
        <a href="#/events">Events</a> <span aria-hidden="true">›</span> <a href={href('shipments', e.shipmentId)}>Shipment {e.shipmentId}</a>{' '}
        <span aria-hidden="true">›</span> <span>Version {e.version}</span>
      </nav>
      <div class="page-head">
        <h1 class="event-title">
          <EventBadge type={e.type} full /> <span>
            shipment {e.shipmentId}, version {e.version}
          </span>
        </h1>
      </div>
      {e.observation?.violation ? (
        <div class="violation-banner" role="status" data-testid="event-violation">
          <ViolationBadge /> Recorded from {e.observation.source} although the state machine forbids it.
          <ViolationDetail e={e} />
        </div>
      ) : null}
      <nav class="walk" aria-label="Same shipment">
        {previous ? (
          <a class="button" href={href('events', previous.eventId)} rel="prev" data-testid="previous">
            ← Previous: v{previous.version} <EventBadge type={previous.type} />
          </a>
        ) : (
          <span class="button disabled" aria-disabled="true">
            ← First event of the shipment
          </span>
        )}
        {next ? (
          <a class="button" href={href('events', next.eventId)} rel="next" data-testid="next">
            Next: v{next.version} <EventBadge type={next.type} /> →
          </a>
        ) : (
          <span class="button disabled" aria-disabled="true">
            Latest event of the shipment →
          </span>
        )}
      </nav>
      <div class="quick-links">
        <a class="button" href={href('traces', e.traceId)}>
          Trace timeline
        </a>
        <a class="button" href={hrefWithQuery(href('shipments', e.shipmentId), { asOf: e.at })}>
          Shipment as of this event
        </a>
        <a class="button" href={href('shipments', e.shipmentId)}>
          Shipment now
        </a>
      </div>
      <div class="grid-2">
        <Card title="Envelope">
          <table class="kv envelope">
            <tbody>
              <Row k="eventId" v={<span class="mono">{e.eventId}</span>} />
              <Row k="type" v={e.type} />
              <Row k="aggregateId (shipment)" v={<a href={href('shipments', e.shipmentId)}>{e.shipmentId}</a>} />
              <Row k="aggregateType" v="Shipment" />
              <Row k="version" v={String(e.version)} />
              <Row k="traceId" v={<a class="mono" href={href('traces', e.traceId)}>{e.traceId}</a>} />
              <Row k="causationId" v={<span class="mono">{e.causationId}</span>} />
              <Row k="initiatedBy" v={<a href={hrefWithQuery('#/events', { user: e.initiatedBy })}>{e.initiatedBy}</a>} />
              <Row k="occurredAt (business time)" v={<><Time ms={e.timestamp} iso={e.at} withDate /> <span class="muted">local · {e.occurredAt} · {e.timestamp} ms</span></>} />
              <Row k="recordedAt (Waybill recorded it)" v={<span data-testid="recorded-at"><Time ms={Date.parse(e.recordedAt)} iso={e.recordedAt} withDate /> <span class="muted">local · {e.recordedAt}</span></span>} />
              {e.observation ? (
                <>
                  <Row k="observed by (in the source)" v={<strong>{e.observation.observedBy}</strong>} />
                  <Row k="source · sourceId" v={<span class="mono">{`${e.observation.source} · ${e.observation.sourceId}`}</span>} />
                  {e.observation.process ? <Row k="source process" v={<span class="mono">{e.observation.process}</span>} /> : null}
                  <Row k="reported by (integration)" v={e.observation.reportedBy} />
                </>
              ) : null}
              <Row k="position" v={<span class="mono">{`${e.position.topic} · partition ${e.position.partition} · offset ${e.position.offset}`}</span>} />
            </tbody>
          </table>
        </Card>
        <Card title="Data (decoded)">
          <div class="data" data-testid="event-data">
            <DataView value={e.data} />
          </div>
        </Card>
      </div>
    </div>
  );
}

function Row({ k, v }: { k: string; v: ComponentChildren }) {
  return (
    <tr>
      <th scope="row">{k}</th>
      <td>{v}</td>
    </tr>
  );
}
