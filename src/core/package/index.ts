export { isPackagePath, workflowMaxBytes, packageMemberName, readPackage, writePackageApp, checkAppDsl, PACKAGE_EXTENSION, type AppPackage } from './package';
export { DSL_MAX_SIZE, PACKAGE_MAX_ENTRIES, PACKAGE_MAX_BYTES, PACKAGE_MAX_MANIFEST_BYTES, PACKAGE_MAX_COMPRESSION_RATIO } from './limits';
export { readZip, rewriteZip, inflateEntry, type ZipArchive, type ZipEntry } from './zip';
