# Gatehouse: `make demo` and `make test` are all a newcomer needs.
SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin
SWIFT ?= swift
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := header manifest receipt file-table bundle sftp identity-card checkpoint tile
# Release builds carry the Swift runtime and Foundation inside the binary: it runs on a machine
# without a Swift toolchain (only libsodium, libcrypto, libdeflate, zlib, SQLite and libstdc++ from Debian)
# and each command starts about 10 ms sooner than with the shared libraries. They link with the
# toolchain's lld and pack relative relocations (DT_RELR, glibc 2.36+): the table every start reads
# shrinks from 3.4 MB to 28 KB, and a daemon keeps about 5 MiB less of its binary resident.
RELEASE := -c release --static-swift-stdlib -Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs

.PHONY: help deps build test demo bench bench-seal bench-sftp bench-directory bench-dir bench-web bench-cluster fuzz \
	crash-test cluster-test partition-test clean install

crash-test: build
	RECORDS=$${RECORDS:-300} KILLS=$${KILLS:-30} bash scripts/crash-test.sh

cluster-test: build
	ORGS=$${ORGS:-20} NODES=$${NODES:-3} RECORDS=$${RECORDS:-1000} KILLS=$${KILLS:-15} PG_RESTART=1 RELAY=1 bash scripts/cluster-test.sh

partition-test: build
	bash scripts/partition-test.sh

# Through a relay: kill -9s of gateways, sshd and connections, a relay outage, a full disk, cut transfers.
# Then the hosted service in full: 20 organisations on 3 nodes, 5,000 records, kill -9s of nodes and a
# PostgreSQL restart (on the release build: the debug build's sealing is several times slower); and a
# node cut off from PostgreSQL (network namespaces).
chaos: build
	RECORDS=$${RECORDS:-1000} KILLS=$${KILLS:-24} bash scripts/chaos.sh
	$(SWIFT) build $(RELEASE) --product gatehouse
	GATEHOUSE_BIN=$$($(SWIFT) build $(RELEASE) --show-bin-path)/gatehouse ORGS=20 NODES=3 RECORDS=$${CLUSTER_RECORDS:-5000} KILLS=$${CLUSTER_KILLS:-30} LEASE=6 PG_RESTART=1 RELAY=1 TIMEOUT=900 \
		bash scripts/cluster-test.sh
	bash scripts/partition-test.sh

help:
	@echo "make demo        install what is missing, build, and run the two-organisation demo"
	@echo "make test        install what is missing, build, and run the whole test suite"
	@echo "make bench       Gatehouse vs gzip+age+sftp end to end, memory, startup, status; writes bench/RESULTS.md"
	@echo "                 (BENCH_SIZE_MB, BENCH_RUNS, BENCH_RECORDS, BENCH_ROWS=1,...,7; see README)"
	@echo "make bench-seal  seal/open 1 GiB files beside age (BENCH_SIZE_MB, BENCH_RUNS)"
	@echo "make bench-sftp  upload of one bundle vs OpenSSH's sftp through a relay (BENCH_SIZE_MB, BENCH_RUNS)"
	@echo "make bench-directory  a directory of BENCH_DIRECTORY entries (100000): publish, sync, proof, drop→receipt"
	@echo "make bench-dir   100 KB records through a dir: mailbox, inotify vs polling (BENCH_RECORDS)"
	@echo "make bench-web   Inbox of 100,000 received packs under wrk (50 signed-in connections), NHS-number search,"
	@echo "                 memory; writes its section of bench/RESULTS.md (BENCH_WEB_PACKS, BENCH_WEB_CONNECTIONS)"
	@echo "make bench-cluster  1 vs 2 vs 3 nodes, PostgreSQL vs SQLite, failover, status on 10,000,000 bundles"
	@echo "                 (the Cluster section of bench/RESULTS.md; also run by make bench)"
	@echo "make fuzz        run every libFuzzer target for FUZZ_SECONDS (default 60)"
	@echo "make crash-test  300 records both ways with 30 random kill -9s (RECORDS, KILLS)"
	@echo "make cluster-test  20 organisations on 3 nodes over PostgreSQL through a relay: 1,000 records, 15 kill -9s, a database restart (ORGS, NODES)"
	@echo "make chaos       1,000 records through a relay: kill -9s, relay outage, full disk, cut transfers (RECORDS, KILLS, PHASES);"
	@echo "                 then 20 organisations on 3 nodes: 5,000 records, 30 kill -9s, a PostgreSQL restart"
	@echo "                 (CLUSTER_RECORDS, CLUSTER_KILLS), and the partition test"
	@echo "make partition-test  a node cut off from PostgreSQL (network namespaces, root) stops within its lease"
	@echo "make install     release binary, systemd units and shell completions under PREFIX (/usr/local; DESTDIR too)"

deps:
	@bash scripts/install-deps.sh

build: deps
	$(SWIFT) build

# The tests, every command of the README's and OPERATIONS' walk-throughs, the web pages in
# Chromium (Playwright), then the crash, cluster, partition and chaos tests in short forms (exactly-once checked).
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test
	python3 scripts/test_walkthrough.py
	python3 scripts/walkthrough.py README.md docs/OPERATIONS.md
	python3 scripts/web-browser-test.py
	RECORDS=60 KILLS=8 TIMEOUT=180 bash scripts/crash-test.sh
	ORGS=4 NODES=2 RECORDS=40 KILLS=3 PG_RESTART=1 RELAY=1 TIMEOUT=180 bash scripts/cluster-test.sh
	RECORDS=10 TIMEOUT=120 bash scripts/partition-test.sh
	RECORDS=100 KILLS=8 OUTAGE=5 OUTAGE_RECORDS=10 BIG_MB=20 CUTS=up-sshd,down-ssh,up-gateway TIMEOUT=180 bash scripts/chaos.sh

demo: build
	@bash scripts/demo.sh

# Benchmarks: release build, never part of `make test`.
bench-directory: deps
	@bash scripts/install-deps.sh --bench
	$(SWIFT) build $(RELEASE)
	$(SWIFT) build --build-tests
	@bash scripts/bench-directory.sh

bench bench-seal bench-sftp bench-dir bench-web bench-cluster:
	@bash scripts/install-deps.sh --bench
	$(SWIFT) build $(RELEASE)
	@bash scripts/$@.sh
	@if [[ $@ == bench ]]; then bash scripts/bench-cluster.sh; fi

fuzz: deps
	GATEHOUSE_FUZZ=1 $(SWIFT) build --scratch-path .build-fuzz -c debug --product GatehouseFuzz \
		-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p .build-fuzz/corpus/$$t Tests/GatehouseFormatTests/FuzzRegressions/$$t; \
		echo "== fuzzing $$t for $(FUZZ_SECONDS) s"; \
		GATEHOUSE_FUZZ_TARGET=$$t .build-fuzz/debug/GatehouseFuzz -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=Tests/GatehouseFormatTests/FuzzRegressions/$$t/ \
			.build-fuzz/corpus/$$t Tests/Fuzz/corpus/$$t 2>&1 | grep -E "^(Done|==|SUMMARY)|ERROR" || exit 1; \
	done
	@echo "fuzz: no crashes; any crash input would be in Tests/GatehouseFormatTests/FuzzRegressions/ and replayed by make test"

# Optional (docs/OPERATIONS.md): the release binary, the systemd units (their paths follow
# PREFIX), the bash and zsh completions and the operations documents. DESTDIR stages a package.
PREFIX ?= /usr/local
install:
	$(SWIFT) build $(RELEASE) --product gatehouse
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/systemd/system \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/doc/gatehouse
	bin="$$($(SWIFT) build $(RELEASE) --show-bin-path)/gatehouse"; if ldd "$$bin" | grep -q libswiftCore; then \
		echo "install: $$bin needs the Swift runtime's shared libraries; it was not built with --static-swift-stdlib" >&2; exit 1; fi; \
		install -m 0755 "$$bin" $(DESTDIR)$(PREFIX)/bin/gatehouse
	for unit in gatehouse.service gatehouse-relay.service; do \
		sed 's#/usr/local/#$(PREFIX)/#g' contrib/systemd/$$unit > $(DESTDIR)$(PREFIX)/lib/systemd/system/$$unit || exit 1; \
		chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/$$unit; \
	done
	install -m 0644 contrib/completions/gatehouse.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/gatehouse
	install -m 0644 contrib/completions/_gatehouse $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_gatehouse
	install -m 0644 README.md docs/OPERATIONS.md docs/THREAT-MODEL.md docs/FORMAT.md $(DESTDIR)$(PREFIX)/share/doc/gatehouse/
	@echo "installed under $(DESTDIR)$(PREFIX); next: docs/OPERATIONS.md (user, home folder, systemctl enable)"

clean:
	rm -rf .build .build-fuzz bench/work
