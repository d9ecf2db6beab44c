# The Argo CD config-management plugin sidecar: `multigres` on the PATH and
# nothing else. Argo CD supplies the server: the repo-server's init container
# copies argocd-cmp-server into /var/run/argocd, and the sidecar runs it as
# user 999 (the patch printed by `multigres install argocd-plugin` sets both;
# the ENTRYPOINT and USER below say the same). The plugin's commands run
# `multigres argocd ...` directly, without a shell.
#
# Build from the repository root and push to a registry your cluster pulls from
# (no image is published for you):
#   docker build -f deploy/argocd-cmp.Dockerfile -t registry.example.com/multigres-cmp:v0.1.0 .
#   docker push registry.example.com/multigres-cmp:v0.1.0
#   multigres install argocd-plugin --image registry.example.com/multigres-cmp:v0.1.0
# See docs/argocd.md.

# Debian 12 on both sides: the binary links the glibc of the runtime image.
FROM docker.io/library/rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin multigres \
 && install -D -m 0755 target/release/multigres /out/multigres

# distroless "cc": glibc and libgcc, no shell, no package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/multigres /usr/local/bin/multigres
USER 999:999
ENTRYPOINT ["/var/run/argocd/argocd-cmp-server"]
