# The platform's production image: the static `platform` binary, pg_dump and
# pg_restore of PostgreSQL PG_MAJOR (backups and restores run them) with only
# the shared libraries they load, CA certificates, and a non-root user
# 65532. No shell, no package manager: the runtime stage is FROM scratch.
#
#   docker build --build-arg VERSION=$(git describe --always --dirty) -t platform .
#
# The base images are ARGs so that scripts/image-test can build this same
# file from local images of the same content (made from Debian's packages
# and the local Go toolchain) on a machine that cannot pull from a
# registry; in production pin them by digest (golang:1.26-bookworm@sha256:…).
# docs/operations.md, "Container image", says what is inside and why.
ARG GO_IMAGE=golang:1.26-bookworm
ARG DEBIAN_IMAGE=debian:bookworm-slim

# ---- build: the static binary ------------------------------------------
FROM ${GO_IMAGE} AS build
# The module proxy, when not Go's default (the RUN steps see it as $GOPROXY).
ARG GOPROXY
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
# CGO_ENABLED=0: a static binary that needs no libc of the runtime stage;
# -trimpath: no build paths in it; -buildvcs=false: .git is not in the
# context (.dockerignore), VERSION says which commit it is.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -buildvcs=false \
        -ldflags "-s -w -X main.version=${VERSION}" -o /out/platform ./cmd/platform \
 && /out/platform version

# ---- pg: pg_dump and pg_restore with their libraries --------------------
# PG_MAJOR must be the major of the database servers: the backup refuses a
# pg_dump older than the server, and a newer one makes archives that its
# own pg_restore (verify, restore) cannot load into the older server
# (pg_restore 17 sends `SET transaction_timeout`, which PostgreSQL 15
# rejects: seen with scripts/image-test). Debian bookworm ships 15, trixie
# 17 (DEBIAN_IMAGE=debian:trixie-slim PG_MAJOR=17); any other major comes
# from the PostgreSQL project's apt repository (PGDG=true), set up by the
# script Debian's postgresql-common ships for that.
FROM ${DEBIAN_IMAGE} AS pg
ARG PG_MAJOR=15
ARG PGDG=false
RUN set -eu; \
    export DEBIAN_FRONTEND=noninteractive; \
    apt-get update; \
    if [ "$PGDG" = true ]; then \
        apt-get install -y --no-install-recommends ca-certificates postgresql-common; \
        /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y; \
    fi; \
    apt-get install -y --no-install-recommends ca-certificates "postgresql-client-${PG_MAJOR}"; \
    rm -rf /var/lib/apt/lists/*
# /rootfs is the runtime stage's whole file system: Debian's binaries
# /usr/lib/postgresql/N/bin/pg_dump (not /usr/bin/pg_dump, a Perl wrapper)
# where platform/backup looks for them; every library ldd lists, at its
# real path, with the names the loader asks for (sonames, the dynamic
# loader's fixed path, the merged-/usr links /lib and /lib64); the CA
# bundle; a passwd naming 65532; a /tmp (the chart mounts an emptyDir
# there); the copied Debian packages' copyright files and versions. The
# chroot proves that pg_dump runs with nothing else.
RUN set -eu; \
    bin=/usr/lib/postgresql/${PG_MAJOR}/bin; \
    mkdir -p /rootfs$bin /rootfs/etc/ssl/certs /rootfs/tmp /rootfs/usr/share/doc/platform-image; \
    cp -a $bin/pg_dump $bin/pg_restore /rootfs$bin/; \
    for l in lib lib64; do if [ -L /$l ]; then cp -a /$l /rootfs/; fi; done; \
    libs=$(ldd $bin/pg_dump $bin/pg_restore | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// && $1 !~ /:$/ {print $1}' | sort -u); \
    files=""; \
    for f in $libs; do \
        r=$(readlink -f "$f"); d=$(readlink -f "$(dirname "$f")"); n=$(basename "$f"); \
        mkdir -p "/rootfs$(dirname "$r")" "/rootfs$d"; cp -a "$r" "/rootfs$r"; \
        if [ "$d/$n" != "$r" ]; then ln -sf "$r" "/rootfs$d/$n"; fi; \
        files="$files $f $r"; \
    done; \
    cp -L /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/; \
    chmod 1777 /rootfs/tmp; \
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n' > /rootfs/etc/passwd; \
    printf 'root:x:0:\nnonroot:x:65532:\n' > /rootfs/etc/group; \
    echo 'hosts: files dns' > /rootfs/etc/nsswitch.conf; \
    pkgs="ca-certificates $(dpkg -S $bin/pg_dump $bin/pg_restore $files 2>/dev/null | grep -v '^diversion ' | sed 's/: .*//; s/:[a-z0-9]*//g; s/, /\n/g' | sort -u)"; \
    for p in $pkgs; do d=/usr/share/doc/$p; if [ -f $d/copyright ]; then mkdir -p /rootfs$d; cp -L $d/copyright /rootfs$d/; fi; done; \
    dpkg-query -W -f '${Package} ${Version}\n' $pkgs > /rootfs/usr/share/doc/platform-image/packages.txt; \
    $bin/pg_dump --version > /rootfs/usr/share/doc/platform-image/pg_dump-version.txt; \
    chroot /rootfs $bin/pg_dump --version; \
    cat /rootfs/usr/share/doc/platform-image/packages.txt

# ---- runtime -------------------------------------------------------------
FROM scratch
ARG PG_MAJOR=15
ARG VERSION=dev
COPY --from=pg /rootfs/ /
COPY --from=build /out/platform /platform
LABEL org.opencontainers.image.title="platform" \
      org.opencontainers.image.description="Multi-tenant platform: platform serve, and the control-plane CLI" \
      org.opencontainers.image.version="${VERSION}" \
      io.tenancy.platform.pg-major="${PG_MAJOR}"
# The Helm chart runs as 65532 whatever the image says; plain docker/podman
# runs use the same user.
USER 65532:65532
EXPOSE 8080 8081
# The tenant listener's /healthz, as the chart's liveness probe; Docker
# (or podman with --format docker) keeps this, OCI images drop it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=2m --retries=3 \
    CMD ["/platform", "healthcheck"]
ENTRYPOINT ["/platform"]
CMD ["serve"]
