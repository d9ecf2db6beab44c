# `multigres krm` as a containerized KRM function: a ResourceList on stdin,
# the rendered ResourceList on stdout (the KRM functions specification), for
# `kpt fn eval --image`, a Kptfile pipeline or kustomize's container
# functions. It needs no network and no writable file system.
#
# Build from the repository root and push to a registry your pipeline pulls
# from (no image is published for you):
#   docker build -f deploy/krm-function.Dockerfile -t registry.example.com/multigres-krm:v0.1.0 .
#   docker push registry.example.com/multigres-krm:v0.1.0
#   kpt fn eval clusters/orders --image registry.example.com/multigres-krm:v0.1.0 -- namespace=shop
# See docs/gitops.md.

# Debian 12 on both sides: the binary links the glibc of the runtime image.
FROM docker.io/library/rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin multigres \
 && install -D -m 0755 target/release/multigres /out/multigres

# distroless "cc": glibc and libgcc, no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/multigres /usr/local/bin/multigres
ENTRYPOINT ["/usr/local/bin/multigres", "krm"]
