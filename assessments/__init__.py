"""The methodology of FOCAS and QSIP: instruments, scoring, progress, services. Never imports streamlit."""
