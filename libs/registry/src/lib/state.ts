import { DEFAULT_COMPATIBILITY, type CompatibilityLevel } from './compatibility';
import type { RegistryRecord, SchemaValue } from './records';
import { canonicalForm } from './schema';

// One version of a subject as the log currently holds it.
export interface VersionEntry {
  subject: string;
  version: number;
  id: number;
  // The text exactly as it was registered.
  schema: string;
  canonical: string;
  deleted: boolean;
}

interface SchemaEntry {
  id: number;
  // The text first registered under this id; every later registration has the same canonical form.
  schema: string;
  canonical: string;
  // `subject\u0000version` of every version that uses this id.
  usedBy: Set<string>;
}

// What applying one record did. `rejected` records lost a race: another writer got there first
// in the log, so every process ignores them alike.
export type ApplyOutcome = { status: 'applied' } | { status: 'unchanged' } | { status: 'rejected'; reason: string };

const ref = (subject: string, version: number) => `${subject}\u0000${version}`;

// The registry's state as a pure fold over the `_schemas` log: every process applying the same
// records in log order ends in the same state, which is what lets several registries share one
// topic without a leader.
// Conflicts are settled by log order, first record wins:
// - a key that already holds a version takes no different schema or id (only its `deleted` flag
//   changes);
// - an id bound to one schema is never bound to another, and a schema keeps its one id.
// Only live records bind ids, so the outcome never depends on records compaction has removed.
export class RegistryState {
  private readonly subjects = new Map<string, Map<number, VersionEntry>>();
  private readonly byId = new Map<number, SchemaEntry>();
  private readonly idByCanonical = new Map<string, number>();
  private readonly configs = new Map<string | null, CompatibilityLevel>();
  private highestIdSeen = 0;

  apply(record: RegistryRecord): ApplyOutcome {
    switch (record.key.keytype) {
      case 'SCHEMA':
        return record.value ? this.putVersion(record.value as SchemaValue) : this.removeVersion(record.key.subject, record.key.version);
      case 'CONFIG': {
        const { subject } = record.key;
        const value = record.value as { compatibilityLevel: CompatibilityLevel } | null;
        if (value) this.configs.set(subject, value.compatibilityLevel);
        else this.configs.delete(subject);
        return { status: 'applied' };
      }
      case 'NOOP':
        return { status: 'unchanged' };
    }
  }

  private putVersion(value: SchemaValue): ApplyOutcome {
    let canonical: string;
    try {
      canonical = canonicalForm(value.schema);
    } catch {
      return { status: 'rejected', reason: 'schema text is not JSON' };
    }
    this.highestIdSeen = Math.max(this.highestIdSeen, value.id);
    const versions = this.subjects.get(value.subject);
    const current = versions?.get(value.version);
    if (current) {
      if (current.id !== value.id || current.canonical !== canonical) {
        return { status: 'rejected', reason: `version ${value.version} of '${value.subject}' already holds schema id ${current.id}` };
      }
      if (current.deleted === value.deleted) return { status: 'unchanged' };
      current.deleted = value.deleted;
      return { status: 'applied' };
    }
    const holder = this.byId.get(value.id);
    if (holder && holder.canonical !== canonical) return { status: 'rejected', reason: `id ${value.id} already belongs to another schema` };
    const existingId = this.idByCanonical.get(canonical);
    if (existingId !== undefined && existingId !== value.id) {
      return { status: 'rejected', reason: `the schema already has id ${existingId}` };
    }
    const entry: VersionEntry = { ...value, canonical };
    if (versions) versions.set(value.version, entry);
    else this.subjects.set(value.subject, new Map([[value.version, entry]]));
    if (holder) holder.usedBy.add(ref(value.subject, value.version));
    else {
      this.byId.set(value.id, { id: value.id, schema: value.schema, canonical, usedBy: new Set([ref(value.subject, value.version)]) });
      this.idByCanonical.set(canonical, value.id);
    }
    return { status: 'applied' };
  }

  private removeVersion(subject: string, version: number): ApplyOutcome {
    const versions = this.subjects.get(subject);
    const current = versions?.get(version);
    if (!versions || !current) return { status: 'unchanged' };
    versions.delete(version);
    if (versions.size === 0) this.subjects.delete(subject);
    const holder = this.byId.get(current.id);
    holder?.usedBy.delete(ref(subject, version));
    if (holder && holder.usedBy.size === 0) {
      this.byId.delete(current.id);
      this.idByCanonical.delete(holder.canonical);
    }
    return { status: 'applied' };
  }

  // Every version of `subject` in version order, soft-deleted ones only when asked.
  versions(subject: string, includeDeleted = false): VersionEntry[] {
    const versions = [...(this.subjects.get(subject)?.values() ?? [])].sort((a, b) => a.version - b.version);
    return includeDeleted ? versions : versions.filter((v) => !v.deleted);
  }

  version(subject: string, version: number): VersionEntry | undefined {
    return this.subjects.get(subject)?.get(version);
  }

  subjectNames(includeDeleted = false): string[] {
    return [...this.subjects.keys()].filter((s) => this.versions(s, includeDeleted).length > 0).sort();
  }

  schemaById(id: number): { id: number; schema: string } | undefined {
    const entry = this.byId.get(id);
    return entry && { id: entry.id, schema: entry.schema };
  }

  idOf(canonical: string): number | undefined {
    return this.idByCanonical.get(canonical);
  }

  // Where an id is used, as `{subject, version}` in subject then version order.
  usagesOf(id: number, includeDeleted = false): Array<{ subject: string; version: number }> {
    const entry = this.byId.get(id);
    if (!entry) return [];
    return [...entry.usedBy]
      .map((key) => {
        const [subject, version] = key.split('\u0000');
        return this.version(subject, Number(version));
      })
      .filter((v): v is VersionEntry => v !== undefined && (includeDeleted || !v.deleted))
      .sort((a, b) => a.subject.localeCompare(b.subject) || a.version - b.version)
      .map(({ subject, version }) => ({ subject, version }));
  }

  // The next id to propose. Counting ids of hard-deleted schemas too keeps them from being handed out again.
  nextId(): number {
    return this.highestIdSeen + 1;
  }

  subjectConfig(subject: string): CompatibilityLevel | undefined {
    return this.configs.get(subject);
  }

  globalConfig(): CompatibilityLevel {
    return this.configs.get(null) ?? DEFAULT_COMPATIBILITY;
  }

  effectiveLevel(subject: string): CompatibilityLevel {
    return this.subjectConfig(subject) ?? this.globalConfig();
  }
}
