// Files inside installed npm packages (Node only: a browser bundle's version says how a page gets them).
export { packageFile } from '#platform/packageFile.js'
