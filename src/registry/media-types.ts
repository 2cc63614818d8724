/** The manifest and blob media types of the OCI image spec and Docker's image manifest v2 schema 2. */
export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerTar: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** What a manifest GET asks for: every single-image and multi-platform type this client reads. */
export const MANIFEST_ACCEPT = [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList].join(', ');

export type ManifestFamily = 'oci' | 'docker';

export function isIndexType(mediaType: string): boolean {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList;
}

export function isImageManifestType(mediaType: string): boolean {
  return mediaType === MediaType.ociManifest || mediaType === MediaType.dockerManifest;
}

/** The media types an image of a family uses: an appended layer matches the base manifest's family. */
export function familyTypes(family: ManifestFamily): { manifest: string; config: string; layerTar: string } {
  return family === 'oci' ? { manifest: MediaType.ociManifest, config: MediaType.ociConfig, layerTar: MediaType.ociLayerTar } : { manifest: MediaType.dockerManifest, config: MediaType.dockerConfig, layerTar: MediaType.dockerLayerTar };
}

export function familyOf(manifestMediaType: string): ManifestFamily {
  return manifestMediaType === MediaType.dockerManifest || manifestMediaType === MediaType.dockerManifestList ? 'docker' : 'oci';
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
  [extra: string]: unknown;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
  [extra: string]: unknown;
}
