# Tools live in a cache outside the clone so a fresh checkout reuses them.
GO          ?= go
TOOLS_DIR   ?= $(HOME)/.cache/flicker-tools
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(TOOLS_DIR)/staticcheck-$(STATICCHECK_VERSION)
# The S3 tests start a real MinIO server (internal/miniotest finds it here by this version).
MINIO_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
MINIO       := $(TOOLS_DIR)/minio-$(MINIO_VERSION)
# The chart tests in deploy/ run helm lint and helm template (deploy/deploytest finds it here by this version).
HELM_VERSION := v4.3.2
HELM        := $(TOOLS_DIR)/helm-$(HELM_VERSION)
# The HTTP source's end-to-end test drives the official Elasticsearch JavaScript client against it
# (cmd/flicker/e2e_httpsrc_esclient_test.go finds it here by this version).
ESJS_VERSION := 8.19.1
ESJS        := $(TOOLS_DIR)/esjs-$(ESJS_VERSION)/node_modules/@elastic/elasticsearch/package.json
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X main.version=$(VERSION)

.PHONY: all build run test lint tools strace rsyslog bench chaos clean manifests
.PHONY: fuzz fuzz-short

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/flicker ./cmd/flicker

# Ships the sample logs in examples/logs to stdout with a local registry in ./data, then exits.
# Run it twice: the second run sends nothing (positions were committed). rm -rf data to start over.
run:
	$(GO) run ./cmd/flicker -c examples/quickstart.yaml --track --registry-file ./data/registry.db --once

tools: $(STATICCHECK) $(MINIO) $(HELM) $(ESJS) strace rsyslog

# The durability test counts the registry's fsyncs under strace (Debian's package; CI runs as root).
strace:
	@command -v strace >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq strace; }

# The syslog tests forward through a real rsyslogd (Debian's package, pinned); each test runs its own with its own
# config, so the package's service is not needed.
RSYSLOG_VERSION := 8.2302.0-1+deb12u1
rsyslog:
	@[ "$$(dpkg-query -W -f='$${Version}' rsyslog 2>/dev/null)" = "$(RSYSLOG_VERSION)" ] || \
	  { apt-get update -qq && apt-get install -y -qq --no-install-recommends rsyslog=$(RSYSLOG_VERSION); }

# Node and npm from Debian when missing; the client pinned, installed with npm into the tools cache.
$(ESJS):
	@command -v npm >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq nodejs npm; }
	mkdir -p $(TOOLS_DIR)/esjs-$(ESJS_VERSION)
	npm install --prefix $(TOOLS_DIR)/esjs-$(ESJS_VERSION) --no-audit --no-fund --no-save @elastic/elasticsearch@$(ESJS_VERSION)

$(STATICCHECK):
	mkdir -p $(TOOLS_DIR)
	GOBIN=$(TOOLS_DIR)/tmp $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(TOOLS_DIR)/tmp/staticcheck $(STATICCHECK)

# A cold build takes a few minutes; its own temp dir keeps it apart from staticcheck under make -j.
$(MINIO):
	mkdir -p $(TOOLS_DIR)
	GOBIN=$(TOOLS_DIR)/tmp-minio $(GO) install github.com/minio/minio@$(MINIO_VERSION)
	mv $(TOOLS_DIR)/tmp-minio/minio $(MINIO)

$(HELM):
	mkdir -p $(TOOLS_DIR)
	GOBIN=$(TOOLS_DIR)/tmp-helm $(GO) install helm.sh/helm/v4/cmd/helm@$(HELM_VERSION)
	mv $(TOOLS_DIR)/tmp-helm/helm $(HELM)

# Renders deploy/kubernetes from the chart again; TestPlainManifests fails until the files match the chart.
manifests: $(HELM)
	FLICKER_HELM=$(HELM) $(GO) test ./deploy/ -run TestPlainManifests -count=1 -update

lint: tools
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

# ./... includes the chaos harness's short profile (benchmarks/chaos: TestChaos with its default flags).
test: lint
	$(GO) test -race -timeout 20m ./...
	$(MAKE) fuzz-short

# Every fuzz target of the module, one at a time, FUZZTIME each; stops at the first failure (see .ci/fuzz.sh).
# Without -race: it slows every execution several times and fuzz workers are processes, not shared goroutines.
FUZZTIME ?= 30s
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) bash .ci/fuzz.sh

# The profile `make test` runs: each target for FUZZTIME_SHORT. On the 2-core machine (build cache warm, shared with
# other work) it takes about 3.5 s a target, listing included: 50 targets ran in 2 min 55 s, so the 59 in about
# 3 min 30 s. Keep it under 4 minutes: lower FUZZTIME_SHORT as targets are added.
FUZZTIME_SHORT ?= 2s
fuzz-short:
	FUZZTIME=$(FUZZTIME_SHORT) GO=$(GO) bash .ci/fuzz.sh

# The chaos and soak harness (benchmarks/chaos/doc.go): DURATION of faults, SEED of the schedule, the report as JSON
# in REPORT (and as a table on stdout). No -race: the memory of every flicker process is measured.
DURATION ?= 30m
SEED     ?= 1
REPORT   ?= chaos-report.json
CHAOS_TIMEOUT ?= 3h
chaos: $(MINIO)
	$(GO) test -v -count=1 -run '^TestChaos$$' -timeout $(CHAOS_TIMEOUT) ./benchmarks/chaos \
	  -chaos.duration=$(DURATION) -chaos.seed=$(SEED) -chaos.report=$(abspath $(REPORT))

# The performance harness: see benchmarks/doc.go and benchmarks/RESULTS.md. Writes a 1 GiB sample under
# benchmarks/data (-workloads file,docker,cri and -containers 500 for the container inputs).
bench: build
	$(GO) run ./benchmarks/cmd/flickerbench -binary bin/flicker

clean:
	rm -rf bin data
