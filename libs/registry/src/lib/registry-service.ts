import type avro from 'avsc';
import type { Logger } from 'pino';
import { checkCompatibility, type CompatibilityLevel, type CompatibilityResult } from './compatibility';
import {
  IncompatibleSchemaError,
  InvalidSchemaError,
  InvalidVersionError,
  SchemaNotFoundError,
  SubjectConfigNotFoundError,
  SubjectNotFoundError,
  SubjectNotSoftDeletedError,
  SubjectSoftDeletedError,
  VersionNotFoundError,
  VersionNotSoftDeletedError,
  VersionSoftDeletedError,
  WriteConflictError,
} from './errors';
import type { KafkaStore } from './kafka-store';
import { parseAvroSchema, type ParsedSchema } from './schema';
import type { VersionEntry } from './state';

export interface SchemaRequest {
  schema?: unknown;
  schemaType?: unknown;
  references?: unknown;
}

export interface VersionView {
  subject: string;
  version: number;
  id: number;
  schema: string;
}

const MAX_WRITE_ATTEMPTS = 8;
const MAX_VERSION = 2 ** 31 - 1;

// `latest`, `-1` or 1…2^31-1, as Confluent accepts; anything else is a 42202.
export function parseVersion(raw: string): number | 'latest' {
  if (raw === 'latest' || raw === '-1') return 'latest';
  if (!/^\d+$/.test(raw)) throw new InvalidVersionError(raw);
  const version = Number(raw);
  if (version < 1 || version > MAX_VERSION) throw new InvalidVersionError(raw);
  return version;
}

const view = (v: VersionEntry): VersionView => ({ subject: v.subject, version: v.version, id: v.id, schema: v.schema });

// The registry's operations over the fold in `KafkaStore`. Writes from this process are
// serialised so it never races itself; races with other processes are settled by the log and
// retried here with fresh state.
export class RegistryService {
  private writeChain: Promise<unknown> = Promise.resolve();
  private readonly types = new Map<string, avro.Type>();

  constructor(
    private readonly store: KafkaStore,
    private readonly logger: Logger,
  ) {}

  private get state() {
    return this.store.state;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writeChain.then(fn, fn);
    this.writeChain = run.catch(() => undefined);
    return run;
  }

  private parseRequest(body: SchemaRequest): ParsedSchema {
    if (body.schemaType !== undefined && body.schemaType !== null && String(body.schemaType).toUpperCase() !== 'AVRO') {
      throw new InvalidSchemaError(`schemaType ${String(body.schemaType)} is not supported; this registry serves AVRO only`);
    }
    if (Array.isArray(body.references) ? body.references.length > 0 : body.references !== undefined && body.references !== null) {
      throw new InvalidSchemaError('schema references are not supported');
    }
    return parseAvroSchema(body.schema);
  }

  private typeOf(entry: VersionEntry): avro.Type {
    let type = this.types.get(entry.canonical);
    if (!type) {
      type = parseAvroSchema(entry.schema).type;
      this.types.set(entry.canonical, type);
    }
    return type;
  }

  private compatibility(subject: string, candidate: avro.Type, level: CompatibilityLevel, against?: VersionEntry): CompatibilityResult {
    const previous = (against ? [against] : this.state.versions(subject)).map((v) => ({ version: v.version, type: this.typeOf(v) }));
    return checkCompatibility(candidate, previous, level, against ? 'latest' : undefined);
  }

  // Registers `body.schema` under `subject`, or returns the id it already has there.
  register(subject: string, body: SchemaRequest): Promise<{ id: number }> {
    const parsed = this.parseRequest(body);
    return this.exclusive(async () => {
      for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
        const existing = this.state.versions(subject).find((v) => v.canonical === parsed.canonical);
        if (existing) return { id: existing.id };
        const level = this.state.effectiveLevel(subject);
        const result = this.compatibility(subject, parsed.type, level);
        if (!result.compatible) throw new IncompatibleSchemaError(subject, level, result.messages);
        const id = this.state.idOf(parsed.canonical) ?? this.state.nextId();
        const version = (this.state.versions(subject, true).at(-1)?.version ?? 0) + 1;
        const value = { subject, version, id, schema: parsed.text, deleted: false };
        const [outcome] = await this.store.write([{ key: { keytype: 'SCHEMA', subject, version }, value }]);
        if (outcome.status !== 'rejected') return { id };
        this.logger.info({ subject, version, id, attempt, reason: outcome.reason }, 'registration lost a race; retrying');
        await this.reassertWinner(subject, version);
      }
      throw new WriteConflictError(subject, MAX_WRITE_ATTEMPTS);
    });
  }

  // Our losing record is now the last one under its key, so compaction would keep it and drop
  // the winner; writing the winner again makes the compacted log say what every process applied.
  private async reassertWinner(subject: string, version: number): Promise<void> {
    const winner = this.state.version(subject, version);
    if (!winner) return;
    const { canonical: _canonical, ...value } = winner;
    await this.store.write([{ key: { keytype: 'SCHEMA', subject, version }, value }]);
  }

  // `POST /subjects/{subject}`: the version of `subject` holding this schema.
  lookup(subject: string, body: SchemaRequest, includeDeleted: boolean): VersionView {
    const parsed = this.parseRequest(body);
    const versions = this.state.versions(subject, includeDeleted);
    if (versions.length === 0) throw new SubjectNotFoundError(subject);
    const match = versions.filter((v) => v.canonical === parsed.canonical).at(-1);
    if (!match) throw new SchemaNotFoundError('Schema not found', { subject });
    return view(match);
  }

  schemaById(id: string): { schema: string } {
    const found = /^\d+$/.test(id) ? this.state.schemaById(Number(id)) : undefined;
    if (!found) throw new SchemaNotFoundError(`Schema ${id} not found`, { id });
    return { schema: found.schema };
  }

  versionsOfId(id: string, includeDeleted: boolean): Array<{ subject: string; version: number }> {
    this.schemaById(id);
    return this.state.usagesOf(Number(id), includeDeleted);
  }

  subjectsOfId(id: string, includeDeleted: boolean): string[] {
    return [...new Set(this.versionsOfId(id, includeDeleted).map((u) => u.subject))];
  }

  subjects(includeDeleted: boolean): string[] {
    return this.state.subjectNames(includeDeleted);
  }

  versionNumbers(subject: string, includeDeleted: boolean): number[] {
    const versions = this.state.versions(subject, includeDeleted);
    if (versions.length === 0) throw new SubjectNotFoundError(subject);
    return versions.map((v) => v.version);
  }

  private resolveVersion(subject: string, rawVersion: string, includeDeleted: boolean): VersionEntry {
    const version = parseVersion(rawVersion);
    const versions = this.state.versions(subject, includeDeleted);
    if (versions.length === 0) throw new SubjectNotFoundError(subject);
    const found = version === 'latest' ? versions.at(-1) : versions.find((v) => v.version === version);
    if (!found) throw new VersionNotFoundError(subject, rawVersion);
    return found;
  }

  getVersion(subject: string, rawVersion: string, includeDeleted: boolean): VersionView {
    return view(this.resolveVersion(subject, rawVersion, includeDeleted));
  }

  // `POST /compatibility/...`: against one version (`rawVersion`), or against what the level
  // names when `rawVersion` is undefined. The check itself follows the level's direction.
  checkCompatibility(subject: string, rawVersion: string | undefined, body: SchemaRequest): CompatibilityResult {
    const parsed = this.parseRequest(body);
    const level = this.state.effectiveLevel(subject);
    if (rawVersion === undefined) return this.compatibility(subject, parsed.type, level);
    const against = this.resolveVersion(subject, rawVersion, false);
    return this.compatibility(subject, parsed.type, level, against);
  }

  globalConfig(): CompatibilityLevel {
    return this.state.globalConfig();
  }

  subjectConfig(subject: string, defaultToGlobal: boolean): CompatibilityLevel {
    const level = this.state.subjectConfig(subject) ?? (defaultToGlobal ? this.state.globalConfig() : undefined);
    if (!level) throw new SubjectConfigNotFoundError(subject);
    return level;
  }

  // Sets the global level (`subject` null) or a subject's.
  setConfig(subject: string | null, level: CompatibilityLevel): Promise<CompatibilityLevel> {
    return this.exclusive(async () => {
      await this.store.write([{ key: { keytype: 'CONFIG', subject }, value: { compatibilityLevel: level } }]);
      return level;
    });
  }

  // Removes the subject's level (it then follows the global one), or resets the global level.
  deleteConfig(subject: string | null): Promise<CompatibilityLevel> {
    return this.exclusive(async () => {
      const previous = subject === null ? this.state.globalConfig() : this.state.subjectConfig(subject);
      if (!previous) throw new SubjectConfigNotFoundError(subject as string);
      await this.store.write([{ key: { keytype: 'CONFIG', subject }, value: null }]);
      return previous;
    });
  }

  // Soft delete marks every live version deleted; `permanent` then removes them from the log.
  deleteSubject(subject: string, permanent: boolean): Promise<number[]> {
    return this.exclusive(async () => {
      const all = this.state.versions(subject, true);
      if (all.length === 0) throw new SubjectNotFoundError(subject);
      const live = all.filter((v) => !v.deleted);
      if (permanent) {
        if (live.length > 0) throw new SubjectNotSoftDeletedError(subject);
        await this.store.write([
          ...all.map((v) => ({ key: { keytype: 'SCHEMA' as const, subject, version: v.version }, value: null })),
          { key: { keytype: 'CONFIG' as const, subject }, value: null },
        ]);
        return all.map((v) => v.version);
      }
      if (live.length === 0) throw new SubjectSoftDeletedError(subject);
      await this.store.write(
        live.map(({ canonical: _canonical, ...v }) => ({ key: { keytype: 'SCHEMA' as const, subject, version: v.version }, value: { ...v, deleted: true } })),
      );
      return live.map((v) => v.version);
    });
  }

  deleteVersion(subject: string, rawVersion: string, permanent: boolean): Promise<number> {
    const version = parseVersion(rawVersion);
    return this.exclusive(async () => {
      const all = this.state.versions(subject, true);
      if (all.length === 0) throw new SubjectNotFoundError(subject);
      const target = version === 'latest' ? (permanent ? all : all.filter((v) => !v.deleted)).at(-1) : all.find((v) => v.version === version);
      if (!target) throw new VersionNotFoundError(subject, rawVersion);
      if (permanent) {
        if (!target.deleted) throw new VersionNotSoftDeletedError(subject, target.version);
        await this.store.write([{ key: { keytype: 'SCHEMA', subject, version: target.version }, value: null }]);
        return target.version;
      }
      if (target.deleted) throw new VersionSoftDeletedError(subject, target.version);
      const { canonical: _canonical, ...value } = target;
      await this.store.write([{ key: { keytype: 'SCHEMA', subject, version: target.version }, value: { ...value, deleted: true } }]);
      return target.version;
    });
  }
}
