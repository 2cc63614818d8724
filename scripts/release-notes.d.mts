export function changelogSection(changelog: string, version: string): { body: string; date: string | undefined } | undefined;
export function releaseOf(tag: string, facts: { packageVersion: string; changelog: string }): { version: string; major: string; prerelease: boolean; notes: string };
