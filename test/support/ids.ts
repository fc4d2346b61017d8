import {randomUUID} from 'node:crypto';

/** A lock identifier no other test uses, so tests never see each other's locks. */
export function uniqueId(label: string): string {
  return `${label}:${randomUUID()}`;
}

export function delay(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}
