"""Every write of permit data, one module per entity: applications (the applicant's
drafts and submissions), casework (the officer's handling of a case). Each service is a
keyword-friendly function ``<entity>_<action>``."""
