# The in-cluster reconciler: `multigres reconcile`, one static binary in an
# image with nothing else (no shell, no package manager, no libc), run as
# distroless's `nonroot` user 65532 with a read-only root file system. The
# Deployment printed by `multigres install operator` runs `multigres
# reconcile --mode M --leader-elect` from it.
#
# Build from the repository root and push to a registry your cluster pulls from
# (no image is published for you):
#   docker build -f deploy/operator.Dockerfile -t registry.example.com/multigres:v0.1.0 .
#   docker push registry.example.com/multigres:v0.1.0
#   multigres install operator --image registry.example.com/multigres:v0.1.0 \
#     | kubectl apply --server-side -f -
# See docs/operator.md.

# Alpine's Rust builds for musl, statically linked (crt-static is musl's
# default): the binary needs no libc in the runtime image. build-base is the
# C compiler of the crates with C parts (mimalloc).
FROM docker.io/library/rust:1-alpine AS build
RUN apk add --no-cache build-base
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin multigres \
 && install -D -m 0755 target/release/multigres /out/multigres

# distroless "static": CA certificates, /etc/passwd with nonroot, tzdata.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/multigres /usr/local/bin/multigres
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/multigres"]
CMD ["reconcile", "--mode", "full"]
