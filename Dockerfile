# The vnext image: the binary on a distroless base, running as a non-root user.
#
#   docker build -t vnext .
#   docker run --rm -v "$PWD:/workspace:ro" vnext plan --check
#
# Build stage: the same command as `cargo install --path .` would run, with the lock file.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin vnext \
 && install -D -m 0755 target/release/vnext /out/vnext

# Final stage: glibc and libgcc only (vnext speaks TLS through rustls, so no OpenSSL), no shell,
# uid 65532 ("nonroot"). The workspace is mounted or copied to /workspace; vnext writes nothing
# there except .vnext-cache/, which it skips when the folder is read-only.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/vnext /usr/local/bin/vnext
WORKDIR /workspace
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/vnext"]
CMD ["--help"]
