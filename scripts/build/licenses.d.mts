export interface LicenseEntry {
  name: string;
  version: string;
  license: string;
  dir: string;
  text: string;
}
interface MetafileLike {
  outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
}

export function packageDirOf(modulePath: string): string | undefined;
export function bundledPackages(metafiles: MetafileLike[]): string[];
export function licenseOf(root: string, dir: string): LicenseEntry;
export function renderLicenses(root: string, dirs: string[]): string;
export function packagesInBundles(dist: string): string[];
export function checkLicenses(root: string, dist: string): string[];
