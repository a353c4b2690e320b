# A team's workspace image: the vnext image plus the workspace it applies. Build it in the
# workspace's folder (after `vnext plan` committed generated/):
#
#   docker build -f workspace.Dockerfile -t registry.example.com/loans-workspace:1.0.0 .
#
# The Job in deploy/kubernetes/ runs it; `--no-cache` there keeps the read-only file system
# read-only.
ARG VNEXT_IMAGE=vnext:0.1.0
FROM ${VNEXT_IMAGE}
COPY --chown=65532:65532 . /workspace
