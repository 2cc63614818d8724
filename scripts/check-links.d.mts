export function slug(heading: string): string;
export function anchorsOf(markdown: string): Set<string>;
export function linksOf(markdown: string): { line: number; target: string }[];
export function checkLinks(root: string, files: string[]): string[];
export function markdownFiles(root: string): string[];
