import type { JSX } from 'preact';

/**
 * Every event type has a colour, an icon and a label: colour is never the only signal (the label
 * is always there, and the icon's shape differs per type).
 */
export interface TypeStyle {
  label: string;
  /** CSS class carrying the colour (styles.css: `.t-<key>`). */
  key: string;
  icon: JSX.Element;
  /** One line for the legend. */
  means: string;
}

const I = (children: JSX.Element | JSX.Element[]) => (
  <svg class="icon" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
    {children}
  </svg>
);

export const EVENT_TYPES: Record<string, TypeStyle> = {
  ShipmentCreated: { label: 'Created', key: 'created', means: 'a new shipment was registered', icon: I([<circle cx="8" cy="8" r="6.2" />, <path d="M8 5v6M5 8h6" />]) },
  ReleasedForPicking: { label: 'Released', key: 'released', means: 'released to the pickers', icon: I(<path d="M5 3.2l7.2 4.8L5 12.8z" />) },
  ItemPicked: { label: 'Item picked', key: 'picked-item', means: 'items taken from a shelf', icon: I(<path d="M8 2v7M5 6.2l3 3 3-3M2.8 10.5v3h10.4v-3" />) },
  PickingCompleted: { label: 'Picking done', key: 'picking-done', means: 'every line fully picked', icon: I([<rect x="3" y="2.2" width="10" height="12" rx="1.5" />, <path d="M5.6 8.4l1.8 1.9 3.2-4" />]) },
  ShipmentPacked: { label: 'Packed', key: 'packed', means: 'boxed up', icon: I(<path d="M2 5l6-3 6 3v6l-6 3-6-3zM2 5l6 3 6-3M8 8v6" />) },
  ReadyForShipping: { label: 'Ready to ship', key: 'ready', means: 'waiting at the dock', icon: I(<path d="M3.5 14.5V2M3.5 2.8h9l-2 3 2 3h-9" />) },
  ShipmentShipped: { label: 'Shipped', key: 'shipped', means: 'left with a carrier; the customer is charged', icon: I([<path d="M1.5 4h8v7h-8zM9.5 6.5h2.8l2.2 2.6v1.9h-5" />, <circle cx="4.5" cy="12.2" r="1.3" />, <circle cx="11.6" cy="12.2" r="1.3" />]) },
  ShipmentDelivered: { label: 'Delivered', key: 'delivered', means: 'the customer has it', icon: I([<circle cx="8" cy="8" r="6.2" />, <path d="M5 8.2l2 2 4-4.4" />]) },
  ShipmentCancelled: { label: 'Cancelled', key: 'cancelled', means: 'will not ship', icon: I([<circle cx="8" cy="8" r="6.2" />, <path d="M5.6 5.6l4.8 4.8M10.4 5.6l-4.8 4.8" />]) },
  StatusCorrected: { label: 'Corrected', key: 'corrected', means: 'a supervisor set the status by hand, with a reason', icon: I(<path d="M2.8 13.2l.9-3.4 7-7 2.5 2.5-7 7zM9.4 4.1l2.5 2.5" />) },
  StatusObserved: { label: 'Status observed', key: 'observed', means: 'a system of record reported a new status', icon: I([<path d="M1.5 8s2.4-4.5 6.5-4.5S14.5 8 14.5 8s-2.4 4.5-6.5 4.5S1.5 8 1.5 8z" />, <circle cx="8" cy="8" r="2" />]) },
};

const UNKNOWN: TypeStyle = { label: 'Other', key: 'other', means: '', icon: I(<circle cx="8" cy="8" r="3" />) };
export const typeStyle = (type: string): TypeStyle => EVENT_TYPES[type] ?? { ...UNKNOWN, label: type };

export function EventBadge({ type, full }: { type: string; full?: boolean }) {
  const s = typeStyle(type);
  return (
    <span class={`badge t-${s.key}`} title={type}>
      {s.icon}
      <span>{full ? type : s.label}</span>
    </span>
  );
}

/** Status colours follow the event that leads into the status. */
const STATUS_KEYS: Record<string, string> = {
  Created: 'created',
  PendingPicking: 'released',
  Picking: 'picked-item',
  Picked: 'picking-done',
  Packed: 'packed',
  ReadyForShipping: 'ready',
  Shipped: 'shipped',
  Delivered: 'delivered',
  Cancelled: 'cancelled',
};
export const statusKey = (status: string) => STATUS_KEYS[status] ?? 'other';

export function StatusBadge({ status }: { status: string }) {
  return (
    <span class={`status s-${statusKey(status)}`}>
      <span class="dot" aria-hidden="true" />
      {status}
    </span>
  );
}

export function Legend() {
  return (
    <section class="legend" aria-label="Legend of event types">
      <span class="legend-title">Legend</span>
      <ul>
        {Object.entries(EVENT_TYPES).map(([type, s]) => (
          <li key={type} title={`${type}: ${s.means}`}>
            <EventBadge type={type} />
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Marks an event recorded from a system of record that broke a rule: never colour alone (icon and words). */
export function ViolationBadge() {
  return (
    <span class="badge violation-badge" data-testid="violation-badge" title="Recorded although the state machine forbids it">
      <svg class="icon" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
        <path d="M8 1.8l6.6 11.7H1.4zM8 6v3.6M8 11.2v.6" />
      </svg>
      <span>Rule violation</span>
    </span>
  );
}

/** Marks an observed fact recorded after a fact with a later business time. */
export function LateBadge({ recordedAt }: { recordedAt: string }) {
  return (
    <span class="pill pill-late" data-testid="late-badge" title={`Recorded ${recordedAt}, after a fact that happened later`}>
      recorded late
    </span>
  );
}
