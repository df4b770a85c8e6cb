//! A live server as the desk's [`Inbox`]: reports and events from the team API, each
//! attachment downloaded on this task while a thread decrypts it.

use std::path::PathBuf;

use async_trait::async_trait;

use crate::api::{ReportSummary, TeamMember};
use crate::report::Promises;
use crate::store::ReportId;

use super::files::{Download, stream_to_file};
use super::inbox::{Inbox, Publisher, SealedReport, decode_events};
use super::{TeamClient, TeamError};

#[async_trait]
impl Inbox for TeamClient {
    fn roster_key(&self) -> String {
        self.origin().to_string()
    }

    async fn roster(&self) -> Result<Option<Vec<TeamMember>>, TeamError> {
        Ok(Some(self.team().await?.members))
    }

    async fn promises(&self) -> Result<Option<Promises>, TeamError> {
        Ok(Some(self.team().await?.promises))
    }

    async fn closing(&self) -> Result<Option<crate::config::Closing>, TeamError> {
        Ok(self.team().await?.closing)
    }

    async fn publisher(&self) -> Result<Publisher, TeamError> {
        Ok(Publisher {
            name: self.team().await?.programme,
            origin: Some(self.origin().to_string()),
        })
    }

    async fn summaries(&self) -> Result<Vec<ReportSummary>, TeamError> {
        self.reports().await
    }

    async fn report(&self, id: ReportId) -> Result<SealedReport, TeamError> {
        let report = TeamClient::report(self, id).await?;
        Ok(SealedReport {
            events: decode_events(id, &report.events)?,
            id,
            reporter: report.report.reporter,
        })
    }

    async fn write_attachment(&self, job: Download) -> Result<PathBuf, TeamError> {
        let response = self.download(job.report, job.blob).await?;
        if response
            .content_length()
            .is_some_and(|n| n > job.target.cap())
        {
            return Err(TeamError::TooLong(job.target.name));
        }
        stream_to_file(response, job.opener, job.target).await
    }

    fn server(&self) -> Option<&TeamClient> {
        Some(self)
    }
}
