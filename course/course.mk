# ---- running a course: the handout, grading a class, Gradescope, JUnit ----------------------
#   make handout                       build/handout/osmem-handout.tar.gz: what a student gets
#   make grade-all SUBMISSIONS=<dir>   grade every entry of <dir> (directory, .tar.gz, .zip, git
#        [JOBS=N] [RUN_TIMEOUT=S]      repository): build/grades/ (gradebook.csv, a feedback page
#                                      and results.json per student, the class summary page)
#   make gradescope                    build/gradescope/autograder.zip for Gradescope
#   make check JUNIT=<file.xml>        also write pytest's JUnit XML (for CI dashboards)
.PHONY: handout grade-all gradescope

handout:
	@$(PYTHON) course/handout.py

grade-all: deps all
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade-all SUBMISSIONS=<dir> [JOBS=N]" >&2; exit 2; }
	@$(PYTHON) course/grade_all.py --submissions=$(SUBMISSIONS) --jobs=$(JOBS) \
		--tracer=$(TRACER) --profile=$(PROFILE) --run-timeout=$(RUN_TIMEOUT) \
		$(if $(TEST),--program=$(TEST))

gradescope:
	@$(PYTHON) course/gradescope.py bundle

# xunit1: the graded tests record their reason as a property, which xunit2 does not allow.
GRADE_ARGS += $(if $(JUNIT),--junitxml=$(JUNIT) -o junit_family=xunit1)
# ---- end of running a course ------------------------------------------------------------------
