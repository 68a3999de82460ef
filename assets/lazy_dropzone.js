// react-dropzone's hook, fetched when an upload zone first renders rather than with the request
// page: the library (with file-selector's table of MIME types) is only needed once the applicant
// has pressed "Reply now". The zone suspends until it has arrived, under a Suspense boundary of
// its own (components/lazy_upload.py); the promise is kept, so it is fetched once.
import { use } from "react";

let library = null;

export function useDropzone(options) {
  library ??= import("react-dropzone");
  return use(library).useDropzone(options);
}
