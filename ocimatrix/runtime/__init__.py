"""OCI runtimes (runc, crun, runsc) driven through their command line, and runtime-spec documents."""
