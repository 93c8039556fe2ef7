import type { Registry } from 'prom-client';

interface CollectorSection {
  registry: Registry;
  latest: () => unknown;
  rendered?: { reading: unknown; bytes: Uint8Array };
}

/**
 * The text of /metrics. The agent's own metrics (process, build, collector status) are rendered
 * on each scrape; a collector's families are rendered once per new reading and then reused, so a
 * scrape costs the same whether the last SMART round found 1 disk or 64 (each round stores a new
 * reading object; an unchanged object means unchanged text).
 */
export class Exposition {
  private readonly sections: CollectorSection[] = [];

  constructor(private readonly agent: Registry) {}

  get contentType(): string {
    return this.agent.contentType;
  }

  addCollector(registry: Registry, latest: () => unknown): void {
    this.sections.push({ registry, latest });
  }

  /** The scrape body as buffers to write in order: collector sections are kept encoded. */
  async render(): Promise<Uint8Array[]> {
    const parts: Uint8Array[] = [Buffer.from(await this.agent.metrics())];
    for (const section of this.sections) {
      const reading = section.latest();
      if (!section.rendered || section.rendered.reading !== reading) {
        section.rendered = { reading, bytes: Buffer.from(`\n${await section.registry.metrics()}`) };
      }
      parts.push(section.rendered.bytes);
    }
    return parts;
  }

  async text(): Promise<string> {
    return Buffer.concat(await this.render()).toString();
  }
}
