"""The pages of the Streamlit app (one file per page, run by ``st.navigation`` in ``app.py``) and their shared parts."""
