import { createRequire as __cjsCreateRequire } from 'node:module'; import { fileURLToPath as __cjsFileURLToPath } from 'node:url'; const require = __cjsCreateRequire(import.meta.url); const __cjsFilename = __cjsFileURLToPath(import.meta.url); const __cjsDirname = __cjsFileURLToPath(new URL('.', import.meta.url));
import {
  InputError,
  quote
} from "./chunk-bb2667724e.mjs";

// src/image/platform.ts
function parsePlatform(input, raw) {
  const parts = raw.trim().toLowerCase().split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((part) => !/^[a-z0-9._-]+$/.test(part))) {
    throw new InputError(input, `expected os/architecture[/variant] such as linux/amd64, got ${quote(raw)}`);
  }
  const [os, architecture, variant] = parts;
  return variant ? { os, architecture, variant } : { os, architecture };
}
function formatPlatform(platform) {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join("/");
}
var DEFAULT_VARIANT = { arm64: "v8", arm: "v7" };
function selectPlatform(manifests, wanted) {
  const real = manifests.filter((entry) => entry.platform && entry.platform.os !== "unknown");
  const variantOf = (platform) => platform.variant ?? DEFAULT_VARIANT[platform.architecture];
  const candidates = real.filter((entry) => entry.platform.os === wanted.os && entry.platform.architecture === wanted.architecture);
  const match = candidates.find((entry) => variantOf(entry.platform) === variantOf(wanted)) ?? (wanted.variant === void 0 ? candidates[0] : void 0);
  return { match, available: real.map((entry) => formatPlatform(entry.platform)) };
}

export {
  parsePlatform,
  formatPlatform,
  selectPlatform
};
