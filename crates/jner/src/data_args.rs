//! The data flags shared by `data` and `train`, with the spec's default paths.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use jner_corpus::rules::AgeRule;
use jner_corpus::sources::{Corpus, SourcesConfig};

#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// MACCROBAT folder: release subfolders (MACCROBAT2018/, MACCROBAT2020/) or .txt/.ann pairs.
    #[arg(long, default_value = "9764942/")]
    pub data_dir: PathBuf,
    /// Corona2.json.
    #[arg(long, default_value = "Corona2.json")]
    pub corona: PathBuf,
    /// Reviews CSV (mydata.csv layout).
    #[arg(long, default_value = "mydata.csv")]
    pub csv: PathBuf,
    /// Leave MACCROBAT out.
    #[arg(long)]
    pub no_maccrobat: bool,
    /// Leave Corona2.json out.
    #[arg(long)]
    pub no_corona: bool,
    /// Leave the reviews CSV out.
    #[arg(long)]
    pub no_csv: bool,
    /// Use the built-in demo corpus instead of the sources.
    #[arg(long)]
    pub demo: bool,
    /// How Age spans become MinorChild: `units` reads months/weeks/days; `spec` reads the
    /// first number as years, as the original pipeline did.
    #[arg(long, value_enum, default_value_t = AgeRuleArg::Units)]
    pub age_rule: AgeRuleArg,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum AgeRuleArg {
    Units,
    Spec,
}

impl DataArgs {
    pub fn age_rule(&self) -> AgeRule {
        match self.age_rule {
            AgeRuleArg::Units => AgeRule::Units,
            AgeRuleArg::Spec => AgeRule::Spec,
        }
    }

    /// The sources in use, for messages.
    pub fn describe(&self) -> String {
        if self.demo {
            return "the demo corpus".into();
        }
        let mut v = Vec::new();
        if !self.no_maccrobat {
            v.push(format!("--data-dir {}", self.data_dir.display()));
        }
        if !self.no_corona {
            v.push(format!("--corona {}", self.corona.display()));
        }
        if !self.no_csv {
            v.push(format!("--csv {}", self.csv.display()));
        }
        v.join(", ")
    }

    /// Loads the configured sources (or the demo corpus).
    pub fn load(&self) -> Result<Corpus> {
        if self.demo {
            return Ok(jner_corpus::demo::demo_corpus(self.age_rule())?);
        }
        let cfg = SourcesConfig {
            maccrobat: (!self.no_maccrobat).then(|| self.data_dir.clone()),
            corona: (!self.no_corona).then(|| self.corona.clone()),
            csv: (!self.no_csv).then(|| self.csv.clone()),
            age_rule: self.age_rule(),
        };
        if cfg.maccrobat.is_none() && cfg.corona.is_none() && cfg.csv.is_none() {
            anyhow::bail!("every source is switched off (--no-maccrobat --no-corona --no-csv); keep at least one, or use --demo");
        }
        Ok(jner_corpus::sources::load(&cfg)?)
    }
}
