import { createRequire as __cjsCreateRequire } from 'node:module'; import { fileURLToPath as __cjsFileURLToPath } from 'node:url'; const require = __cjsCreateRequire(import.meta.url); const __cjsFilename = __cjsFileURLToPath(import.meta.url); const __cjsDirname = __cjsFileURLToPath(new URL('.', import.meta.url));

// src/files/resolve.ts
import { lstat, readlink } from "node:fs/promises";
import { isAbsolute, join, relative, sep } from "node:path";
var MAX_SYMLINK_HOPS = 40;
function isInside(folder, path) {
  const rel = relative(folder, path);
  return rel === "" || rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}
async function resolveInside(root, path, options) {
  const pending = path.split("/");
  const done = [];
  let hops = 0;
  let missing = false;
  while (pending.length > 0) {
    const part = pending.shift();
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (done.length === 0) return { kind: "outside", through: join(root, "..", ...pending) };
      done.pop();
      continue;
    }
    done.push(part);
    if (missing) continue;
    const here = join(root, ...done);
    const info = await lstat(here).catch(() => void 0);
    if (!info) {
      missing = true;
      continue;
    }
    if (!info.isSymbolicLink()) continue;
    if (++hops > MAX_SYMLINK_HOPS) return { kind: "loop" };
    const target = await readlink(here);
    done.pop();
    if (isAbsolute(target)) {
      if (options.absolute === "outside" || !isInside(root, target)) return { kind: "outside", through: join(target, ...pending) };
      done.length = 0;
      pending.unshift(...relative(root, target).split(sep));
    } else {
      pending.unshift(...target.split("/"));
    }
  }
  return { kind: "inside", path: done.join("/") };
}

export {
  isInside,
  resolveInside
};
