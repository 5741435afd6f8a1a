# ---- a drop-in malloc: libosmem_malloc.so, make dropin ---------------------------------------
#   make dropin [OSMEM=...] [TEST=python,git,gcc,sqlite] [DROPIN_TIMEOUT=seconds]
#       python, git, gcc and sqlite3 run with LD_PRELOAD=libosmem_malloc.so over the os_*
#       library, each compared with the same program on glibc: identical or not, time ratio;
#       every run in the checker's sandbox, started by its launcher (SANDBOX=0: without bwrap)
# build/dropin/libosmem_malloc.so sits next to a copy of the kit's libosmem.so (its $ORIGIN
# rpath), so LD_PRELOAD=build/dropin/libosmem_malloc.so runs any program on the kit's library.
DROPIN_TIMEOUT ?= 120
DROPIN_DIR     := build/dropin
DROPIN_LIB     := $(DROPIN_DIR)/libosmem_malloc.so
DROPIN_CHECK   := $(DROPIN_DIR)/api_check
.PHONY: dropin dropin-deps
all: $(DROPIN_LIB) $(DROPIN_DIR)/libosmem.so $(DROPIN_CHECK)

$(DROPIN_LIB): dropin/osmem_malloc.c utils/osmem.h src/libosmem.so
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) -fPIC -shared -fvisibility=hidden -fno-builtin -pthread -Iutils \
		-Wl,-soname,libosmem_malloc.so -o $@ $< -Lsrc -losmem -Wl,-rpath,'$$ORIGIN'

$(DROPIN_DIR)/libosmem.so: src/libosmem.so
	@mkdir -p $(@D)
	cp $< $@

$(DROPIN_CHECK): dropin/api_check.c
	@mkdir -p $(@D)
	$(CC) $(WARN) -O1 -g -fno-builtin -pthread -o $@ $< -ldl

dropin-deps:
	@checker/deps.sh --dropin

dropin: deps dropin-deps $(DROPIN_LIB) $(LAUNCHER)
	@$(PYTHON) dropin/dropin.py --osmem=$(OSMEM) --timeout=$(DROPIN_TIMEOUT) \
		$(if $(TEST),--programs=$(TEST))
# ---- end of a drop-in malloc -----------------------------------------------------------------
