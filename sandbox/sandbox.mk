# ---- grading untrusted code: the launcher every traced program starts through ---------------
# build/osmem-launcher (sandbox/launcher.c) sets the run's resource limits and the seccomp
# filter, then execs the program; checker/run.py puts it inside the bubblewrap sandbox.
LAUNCHER := build/osmem-launcher
all: $(LAUNCHER)

$(LAUNCHER): sandbox/launcher.c utils/printf.c utils/printf.h
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -Iutils -o $@ sandbox/launcher.c utils/printf.c
# ---- end of grading untrusted code -----------------------------------------------------------
