import { createRequire as __cjsCreateRequire } from 'node:module'; import { fileURLToPath as __cjsFileURLToPath } from 'node:url'; const require = __cjsCreateRequire(import.meta.url); const __cjsFilename = __cjsFileURLToPath(import.meta.url); const __cjsDirname = __cjsFileURLToPath(new URL('.', import.meta.url));
import {
  __toESM,
  require_node_path,
  require_promises
} from "./chunk-4eaf0c925e.mjs";

// src/files/resolve.ts
var import_promises = __toESM(require_promises(), 1);
var import_node_path = __toESM(require_node_path(), 1);
var MAX_SYMLINK_HOPS = 40;
function isInside(folder, path) {
  const rel = (0, import_node_path.relative)(folder, path);
  return rel === "" || rel !== ".." && !rel.startsWith(`..${import_node_path.sep}`) && !(0, import_node_path.isAbsolute)(rel);
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
      if (done.length === 0) return { kind: "outside", through: (0, import_node_path.join)(root, "..", ...pending) };
      done.pop();
      continue;
    }
    done.push(part);
    if (missing) continue;
    const here = (0, import_node_path.join)(root, ...done);
    const info = await (0, import_promises.lstat)(here).catch(() => void 0);
    if (!info) {
      missing = true;
      continue;
    }
    if (!info.isSymbolicLink()) continue;
    if (++hops > MAX_SYMLINK_HOPS) return { kind: "loop" };
    const target = await (0, import_promises.readlink)(here);
    done.pop();
    if ((0, import_node_path.isAbsolute)(target)) {
      if (options.absolute === "outside" || !isInside(root, target)) return { kind: "outside", through: (0, import_node_path.join)(target, ...pending) };
      done.length = 0;
      pending.unshift(...(0, import_node_path.relative)(root, target).split(import_node_path.sep));
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
